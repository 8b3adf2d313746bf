// The codebook ablation switches of the 'lm' recipe, on real emoji (PaletteCodec codes):
// 'frozen' leaves the LM embedding table untouched by training; 'two-way' with λ = 0 replaces the
// image rows of the table by the tokenizer codebook mapped into the LM space (C·Q, least squares), so
// they lie exactly in the span of the codebook; 'unified' trains the table.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../../src-main/engine/io/safetensors.ts';
import { parseLmConfig, runLmRecipe } from '../../src-main/engine/train/recipes/lm.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';
import { tinyCodec, tinyEmoji, tinyTokenizer, tmp } from './helpers.ts';

let base: Record<string, unknown>;
const K = 16, d = 3, H = 32;
let codebook: Float32Array;

beforeAll(async () => {
  const imgTok = tmp('imgtok');
  writeFileSync(join(imgTok, 'config.json'), JSON.stringify({ palette: [16, 4, 2, 2, 16] }));
  codebook = new Rng(9).fillNormal(new Float32Array(K * d));
  await writeSafetensors(join(imgTok, 'model.safetensors'), { 'quantizer.codebook': { dtype: 'F32', shape: [K, d], data: codebook } });
  base = {
    model: { hidden_size: H, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 48, max_position_embeddings: 128, depth_head_heads: 2, depth_head_intermediate_size: 32 },
    data: { dir: await tinyEmoji(4), eval_split: 'test' }, image_tokenizer: imgTok, text_tokenizer: (await tinyTokenizer()).dir, stage: 'stage1',
    train: { steps: 2, batch: 4, lr: 0.01, warmup_steps: 0, checkpoint_every: 1, eval_batches: 1, threads: 1 },
  };
});

async function tables(mode: string, extra: object = {}) {
  const out = tmp(`mode-${mode}`);
  await runLmRecipe(parseLmConfig({ ...base, model: { ...(base.model as object), codebook_mode: mode }, ...extra }, 'lm.json'), { outDir: out, resume: false }, { loadCodec: async () => tinyCodec() });
  const read = async (step: number) => (await readSafetensors(join(out, 'checkpoints', `step-0000000${step}`, 'model.safetensors'))).tensors.get('model.embed_tokens.weight')!.data as Float32Array;
  return [await read(1), await read(2)];
}

describe('codebook modes', () => {
  it("'frozen' keeps the LM table fixed while 'unified' trains it", async () => {
    const [f1, f2] = await tables('frozen');
    expect(Array.from(f2)).toEqual(Array.from(f1));
    const [u1, u2] = await tables('unified');
    expect(Array.from(u2)).not.toEqual(Array.from(u1));
  });

  it("'two-way' (λ = 0) sets the image rows to the codebook mapped into the LM space", async () => {
    const [, e] = await tables('two-way', { two_way: { lambda: 0, every: 2 } });
    const rows = e.subarray(16 * H, (16 + K) * H); // (K, H): ids 16..31
    // least squares of the rows on the codebook: B = (CᵀC)⁻¹CᵀE; the residual must vanish
    const ctc = [0, 1, 2].map((i) => [0, 1, 2].map((j) => Array.from({ length: K }, (_, k) => codebook[k * d + i] * codebook[k * d + j]).reduce((a, b) => a + b)));
    const inv3 = (m: number[][]) => {
      const [[a, b, c], [p, q, r], [x, y, z]] = m;
      const det = a * (q * z - r * y) - b * (p * z - r * x) + c * (p * y - q * x);
      return [[q * z - r * y, c * y - b * z, b * r - c * q], [r * x - p * z, a * z - c * x, c * p - a * r], [p * y - q * x, b * x - a * y, a * q - b * p]].map((row) => row.map((v) => v / det));
    };
    const inv = inv3(ctc);
    let resid = 0, norm = 0;
    for (let h = 0; h < H; h++) {
      const cte = [0, 1, 2].map((i) => Array.from({ length: K }, (_, k) => codebook[k * d + i] * rows[k * H + h]).reduce((a, b) => a + b));
      const beta = [0, 1, 2].map((i) => inv[i][0] * cte[0] + inv[i][1] * cte[1] + inv[i][2] * cte[2]);
      for (let k = 0; k < K; k++) {
        const fit = beta[0] * codebook[k * d] + beta[1] * codebook[k * d + 1] + beta[2] * codebook[k * d + 2];
        resid += (fit - rows[k * H + h]) ** 2;
        norm += rows[k * H + h] ** 2;
      }
    }
    console.log(`two-way: image rows outside the codebook's span: ${Math.sqrt(resid / norm).toExponential(2)} (relative)`);
    expect(norm).toBeGreaterThan(0);
    expect(Math.sqrt(resid / norm)).toBeLessThan(1e-4);
  });
});
