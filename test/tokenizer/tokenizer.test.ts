// The image tokenizer: fold/unfold layout, SSIM/PSNR against an independent PyTorch implementation,
// the UniCode pull's least-squares projection, a short real training run whose exported ONNX
// encoder/decoder agree with the training graph, and exact resume after a real SIGKILL.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImageFolder } from '../../src-main/engine/data/imagefolder.ts';
import { loadImageTokenizer, readImageTokenizerWeights } from '../../src-main/engine/models/image-tokenizer.ts';
import { DEFAULT_VQTOK, foldCodes, paramWeights, unfoldTokens, vqtokDecoderGraph, vqtokEncoderGraph, vqtokGeometry, type VqTokConfig } from '../../src-main/engine/models/vqtok.ts';
import { Graph } from '../../src-main/engine/graph/graph.ts';
import { exportOnnx } from '../../src-main/engine/graph/onnx.ts';
import { Session } from '../../src-main/engine/runtime/session.ts';
import { engineHostEnv } from '../../src-main/engine/runtime/host-env.ts';
import { mseOf, psnrOf, ssimOf } from '../../src-main/engine/quant/image-metrics.ts';
import { fitProjection, pullCodebook } from '../../src-main/engine/quant/pull.ts';
import { parseTokenizerConfig, runTokenizerRecipe } from '../../src-main/engine/train/tokenizer.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';
import { gradients } from '../../src-main/engine/autodiff/grad.ts';
import { ssim } from '../../src-main/engine/nn/ssim.ts';
import { tinyTokenizerConfig, writeShapesFolder } from './helpers.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
let tmp: string;
let data: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tessera-tok-'));
  data = join(tmp, 'shapes');
  await writeShapesFolder(data, 40, 32);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('fold / unfold', () => {
  it('stacks each 2×2 block of the code map into one LM position, offset by first_token_id', () => {
    const c: VqTokConfig = { ...DEFAULT_VQTOK, image_size: 16, channels: [8, 8], code_dim: 4, codebook_size: 100, first_token_id: 16 };
    const { grid, positions, depth } = vqtokGeometry(c);
    expect([grid, positions, depth]).toEqual([4, 4, 4]);
    const codes = BigInt64Array.from({ length: 16 }, (_, i) => BigInt(i)); // raster 4×4: value = 4y + x
    const t = foldCodes(c, codes, 1);
    // position 0 = top-left block: (0,0) (0,1) (1,0) (1,1) → 0 1 4 5; position 3 = bottom-right: 10 11 14 15
    expect(Array.from(t.subarray(0, 4))).toEqual([16, 17, 20, 21]);
    expect(Array.from(t.subarray(12, 16))).toEqual([26, 27, 30, 31]);
    expect(Array.from(unfoldTokens(c, t, 1))).toEqual(Array.from(codes));
  });

  it('rejects ids that are not image codes, naming the position', () => {
    const c: VqTokConfig = { ...DEFAULT_VQTOK, image_size: 16, channels: [8, 8], code_dim: 4, codebook_size: 100, first_token_id: 16 };
    const t = new Int32Array(16).fill(20);
    t[6] = 3; // a special token
    expect(() => unfoldTokens(c, t, 1)).toThrow(/id 3 \(image 0, position 1, code 2\) is not an image code/);
  });
});

describe('image metrics', () => {
  it('SSIM and PSNR match an independent PyTorch implementation', async () => {
    const ref = JSON.parse(await readFile(join(repoRoot, 'test/fixtures/ssim-reference.json'), 'utf8'));
    const a = Float32Array.from(ref.a), b = Float32Array.from(ref.b);
    const ssim = ssimOf(a, b, ref.n, ref.c, ref.h, ref.w);
    const psnr = Array.from(mseOf(a, b, ref.n), psnrOf);
    for (let i = 0; i < ref.n; i++) {
      expect(ssim[i]).toBeCloseTo(ref.ssim[i], 6);
      expect(psnr[i]).toBeCloseTo(ref.psnr[i], 6);
    }
    expect(ssimOf(a, a, ref.n, ref.c, ref.h, ref.w)[0]).toBeCloseTo(1, 9);
  });

  it('the SSIM loss graph equals the metric, and its gradient matches central differences', async () => {
    const ref = JSON.parse(await readFile(join(repoRoot, 'test/fixtures/ssim-reference.json'), 'utf8'));
    const shape = [ref.n, ref.c, ref.h, ref.w];
    const g = new Graph('ssim');
    const a = g.param('a', shape);
    const b = g.input('b', 'float32', shape);
    const s = ssim(a, b, ref.c);
    const [da] = gradients(s, [a]);
    const sess = await Session.create(exportOnnx(g, { s, da: da! }).bytes, { threads: 1 });
    try {
      const bData = Float32Array.from(ref.b);
      const run = async (aData: Float32Array) => sess.run({ a: { dtype: 'float32', shape, data: aData }, b: { dtype: 'float32', shape, data: bData } });
      const aData = Float32Array.from(ref.a);
      const out = await run(aData);
      const metric = ssimOf(aData, bData, ref.n, ref.c, ref.h, ref.w).reduce((x, y) => x + y, 0) / ref.n;
      expect(out.s.data[0]).toBeCloseTo(metric, 5);
      const grad = out.da.data as Float32Array;
      const h = 1e-2;
      for (const i of [0, 1234, aData.length - 7, Math.floor(aData.length / 2) + 17]) {
        const plus = Float32Array.from(aData), minus = Float32Array.from(aData);
        plus[i] += h;
        minus[i] -= h;
        const fd = (Number((await run(plus)).s.data[0]) - Number((await run(minus)).s.data[0])) / (2 * h);
        expect(Math.abs(grad[i] - fd)).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)) + 1e-5);
      }
    } finally {
      await sess.release();
    }
  });
});

describe('UniCode pull', () => {
  it('recovers an exact linear map from LM rows to codes, so the pull then leaves such a codebook fixed', () => {
    const rng = new Rng(3);
    const k = 60, d = 4, dl = 8, ids = Array.from({ length: k }, (_, i) => i + 5);
    const E = { data: rng.fillNormal(new Float32Array(80 * dl)), rows: 80, cols: dl };
    const Ptrue = { data: rng.fillNormal(new Float32Array(dl * d)), rows: dl, cols: d };
    const C = { data: new Float32Array(k * d), rows: k, cols: d };
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) for (let i = 0; i < dl; i++) C.data[c * d + j] += E.data[ids[c] * dl + i] * Ptrue.data[i * d + j];
    const P = fitProjection(C, E, ids, 1e-9);
    for (let i = 0; i < P.data.length; i++) expect(P.data[i]).toBeCloseTo(Ptrue.data[i], 3);
    const pulled = pullCodebook(C, E, 0.5, { proj: P, tokenIds: ids });
    for (let i = 0; i < C.data.length; i++) expect(pulled.data[i]).toBeCloseTo(C.data[i], 3);
    // and a codebook the LM does not explain moves halfway toward E·P
    const C2 = { data: rng.fillNormal(new Float32Array(k * d)), rows: k, cols: d };
    const P2 = fitProjection(C2, E, ids);
    const p2 = pullCodebook(C2, E, 0.5, { proj: P2, tokenIds: ids });
    const target = pullCodebook(C2, E, 0, { proj: P2, tokenIds: ids });
    for (let i = 0; i < C2.data.length; i++) expect(p2.data[i]).toBeCloseTo(0.5 * C2.data[i] + 0.5 * target.data[i], 5);
  });
});

describe('training', () => {
  it('a tiny run learns, and the exported ONNX codec agrees with the training weights', async () => {
    const cfg = parseTokenizerConfig(tinyTokenizerConfig(data, 10), 'tiny.json');
    const losses: number[] = [];
    const r = await runTokenizerRecipe(cfg, { outDir: join(tmp, 'run-a'), resume: false, onProgress: (p) => p.phase !== 'eval' && losses.push(p.loss) });
    expect(r.status).toBe('done');
    expect(losses).toHaveLength(10);
    expect(losses[9]).toBeLessThan(losses[0]);
    const tok = await loadImageTokenizer(r.modelDir!, { threads: 1 });
    try {
      const set = await loadImageFolder(data, { split: 'validation', size: 32 });
      const n = set.rows.length;
      const tokens = await tok.encode(set.images, n);
      expect(tokens.length).toBe(n * tok.positions * tok.depth);
      for (const t of tokens) expect(t >= 16 && t < 16 + 48).toBe(true);
      const px = await tok.decode(tokens, n);
      expect(px.length).toBe(set.images.length);
      for (const v of px) expect(v >= 0 && v <= 1).toBe(true);
      // the shipped ONNX files (weights baked in) compute what the same graphs compute with the
      // weights of model.safetensors fed as inputs
      const w = await readImageTokenizerWeights(r.modelDir!);
      const feeds = (g: Graph) => Object.fromEntries([...g.params].map(([name, p]) => [name, { dtype: 'float32' as const, shape: p.value.shape as number[], data: w.get(name)! }]));
      const ge = new Graph('enc');
      const enc = await Session.create(exportOnnx(ge, vqtokEncoderGraph(ge, tok.config, paramWeights(ge))).bytes, { threads: 1 });
      const gd = new Graph('dec');
      const dec = await Session.create(exportOnnx(gd, vqtokDecoderGraph(gd, tok.config, paramWeights(gd))).bytes, { threads: 1 });
      const codes = (await enc.run({ ...feeds(ge), pixels: { dtype: 'float32', shape: [n, 3, 32, 32], data: set.images } })).codes.data as BigInt64Array;
      expect(Array.from(foldCodes(tok.config, codes, n))).toEqual(Array.from(tokens));
      const ref = (await dec.run({ ...feeds(gd), codes: { dtype: 'int64', shape: [n, 64], data: codes } })).pixels.data as Float32Array;
      let maxDiff = 0;
      for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - px[i]));
      expect(maxDiff).toBeLessThan(1e-5);
      await Promise.all([enc.release(), dec.release()]);
      // a Stage I round starts from this folder: quantization on at once, near the final loss
      const round = parseTokenizerConfig({ ...tinyTokenizerConfig(data, 2), init_from: r.modelDir }, 'round.json');
      const roundLosses: number[] = [];
      await runTokenizerRecipe(round, { outDir: join(tmp, 'round'), resume: false, onProgress: (p) => p.phase === 'vq' && roundLosses.push(p.loss) });
      expect(roundLosses).toHaveLength(2);
      expect(roundLosses[0]).toBeLessThan(losses[0] * 0.8);
      // decoder-only fine-tuning with an SSIM term: the decoder moves, the encoder and codebook (and so
      // every image's tokens) do not
      const decCfg = parseTokenizerConfig({ ...tinyTokenizerConfig(data, 3), init_from: r.modelDir, train: { ...tinyTokenizerConfig(data, 3).train, decoder_only: true, ssim_weight: 1 } }, 'dec.json');
      const rd = await runTokenizerRecipe(decCfg, { outDir: join(tmp, 'dec'), resume: false });
      const [w0, w1] = [w, await readImageTokenizerWeights(rd.modelDir!)];
      const moved = (prefix: string) => [...w0].filter(([k]) => k.startsWith(prefix)).some(([k, v]) => v.some((x, i) => x !== w1.get(k)![i]));
      expect(moved('encoder.')).toBe(false);
      expect(moved('quantizer.')).toBe(false);
      expect(moved('decoder.')).toBe(true);
      const tok2 = await loadImageTokenizer(rd.modelDir!, { threads: 1 });
      expect(Array.from(await tok2.encode(set.images, n))).toEqual(Array.from(tokens));
      await tok2.release();
      expect(() => parseTokenizerConfig({ ...tinyTokenizerConfig(data, 3), train: { ...tinyTokenizerConfig(data, 3).train, decoder_only: true } }, 'bad.json')).toThrow(/train\.decoder_only.*init_from/);
      const other = parseTokenizerConfig({ ...tinyTokenizerConfig(data, 2), model: { ...tinyTokenizerConfig(data, 2).model, code_dim: 4 }, init_from: r.modelDir }, 'other.json');
      await expect(runTokenizerRecipe(other, { outDir: join(tmp, 'other'), resume: false })).rejects.toThrow(/differs from this recipe's model in code_dim/);
    } finally {
      await tok.release();
    }
  });

  it('resumes exactly after a real SIGKILL: the losses equal an uninterrupted run', async () => {
    const steps = 10;
    const config = join(tmp, 'kill.json');
    await writeFile(config, JSON.stringify(tinyTokenizerConfig(data, steps)));
    const run = (out: string, metrics: string, resume: boolean, killAfterStep?: number) => new Promise<{ signal: string | null; code: number | null }>((resolve, reject) => {
      const args = ['--import', 'tsx', 'src-main/cli/main.ts', 'train', 'tokenizer', '--config', config, '--out', out, '--metrics', metrics, '--threads', '1'];
      if (resume) args.push('--resume');
      // with the environment the CLI would relaunch itself with, so the SIGKILL reaches the trainer itself
      const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: engineHostEnv() });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.stdout.on('data', (c: Buffer) => {
        // the checkpoint at step 6 is on disk once its line is printed; kill just after
        if (killAfterStep !== undefined && c.toString().includes(`step-${String(killAfterStep).padStart(8, '0')}`)) child.kill('SIGKILL');
      });
      child.on('error', reject);
      child.on('close', (code, signal) => (code === 0 || signal === 'SIGKILL' ? resolve({ code, signal }) : reject(new Error(`exit ${code}: ${err}`))));
    });
    const readLosses = async (f: string) => new Map((await readFile(f, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.phase !== 'eval').map((r) => [r.step as number, r.loss as number]));

    await run(join(tmp, 'full'), join(tmp, 'full.jsonl'), false);
    const killed = await run(join(tmp, 'crash'), join(tmp, 'crash.jsonl'), false, 6);
    expect(killed.signal).toBe('SIGKILL');
    await run(join(tmp, 'crash'), join(tmp, 'crash.jsonl'), true);
    const full = await readLosses(join(tmp, 'full.jsonl'));
    const resumed = await readLosses(join(tmp, 'crash.jsonl')); // later lines (the resumed run) win
    expect(full.size).toBe(steps);
    expect(resumed.size).toBe(steps);
    for (let s = 1; s <= steps; s++) expect(resumed.get(s)).toBe(full.get(s));
  });
});
