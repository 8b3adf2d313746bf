// Timing of image generation at the default model size (not a test; run with tsx): a model folder
// with freshly initialised weights (speed does not depend on training), 64 positions × depth 4,
// CFG rows batched, the PaletteCodec standing in for the VQ decoder.
//   npx tsx test/unified/bench-generate.ts TEXT_TOKENIZER_DIR
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModelFolder } from '../../src-main/engine/infer/model-folder.ts';
import { UnifiedModel } from '../../src-main/engine/infer/unified.ts';
import { initUnifiedParam, unifiedParamShapes } from '../../src-main/engine/models/unicode.ts';
import { TextTokenizer } from '../../src-main/engine/text/tokenizer.ts';
import { LmRecipeSchema, unifiedConfigFor } from '../../src-main/engine/train/recipes/lm.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';
import { PaletteCodec } from './palette-codec.ts';

const tokDir = process.argv[2];
const tok = await TextTokenizer.load(tokDir);
const codec = new PaletteCodec(64, 8, 4, 7, 16);
const c = unifiedConfigFor(LmRecipeSchema.shape.model.parse({}), tok.vocabSize, codec);
const rng = new Rng(1);
const weights = new Map([...unifiedParamShapes(c)].map(([n, s]) => [n, initUnifiedParam(c, n, s, rng)]));
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-gen-'));
const imgTok = mkdtempSync(join(tmpdir(), 'tessera-bench-imgtok-'));
writeFileSync(join(imgTok, 'config.json'), '{}');
await saveModelFolder(join(dir, 'model'), { config: c, weights, textTokenizerDir: tokDir, imageTokenizerDir: imgTok, card: { name: 'bench' } });
for (const threads of [1]) {
  const m = await UnifiedModel.load(join(dir, 'model'), { codec, threads });
  await m.generateImages('Draw a red apple.', 1, { cfg: 3, seed: 0 });
  for (const [n, cfg] of [[1, 3], [1, 1], [4, 3]] as const) {
    const t0 = performance.now(), cpu0 = process.cpuUsage();
    await m.generateImages('Draw a red apple.', n, { cfg, seed: 1, topK: 100 });
    const ms = performance.now() - t0, cpu = process.cpuUsage(cpu0);
    // CPU time of this process (all its threads): what the wall time would be on an idle core at threads = 1
    console.log(JSON.stringify({ threads, n, cfg, ms_per_image: Math.round(ms / n), cpu_ms_per_image: Math.round((cpu.user + cpu.system) / 1000 / n), image_tokens_per_s: Math.round((256 * n) / (ms / 1000)) }));
  }
  await m.release();
}
