// Samples to watch while the unified LM trains: the weights as they are now, written as a model
// folder (outDir/samples/model) and opened for inference like any installed model, caption the
// first held-out image and draw its label; the drawing is a PNG under outDir/samples.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadImageFolder } from '../../data/imagefolder.ts';
import { CAPTION_PROMPTS, T2I_TEMPLATES } from '../../data/tasks.ts';
import { saveModelFolder } from '../../infer/model-folder.ts';
import { loadUnifiedModel } from '../../infer/unified.ts';
import { encodePng } from '../../io/image.ts';
import type { UnifiedConfig } from '../../models/unicode.ts';
import type { RecipeSample } from '../recipe.ts';

export interface LmSampleInput {
  outDir: string;
  step: number;
  config: UnifiedConfig;
  weights: Map<string, Float32Array>;
  textTokenizerDir: string;
  imageTokenizerDir: string;
  /** The imagefolder and split the held-out image comes from. */
  dataDir: string;
  split: string;
  threads: number;
}

export async function lmSamples(o: LmSampleInput): Promise<RecipeSample[]> {
  const dir = join(o.outDir, 'samples', 'model');
  await saveModelFolder(dir, { config: o.config, weights: o.weights, textTokenizerDir: o.textTokenizerDir, imageTokenizerDir: o.imageTokenizerDir, card: { name: `training sample at step ${o.step}` } });
  const m = await loadUnifiedModel(dir, { threads: o.threads });
  try {
    const S = m.codec.imageSize;
    const set = await loadImageFolder(o.dataDir, { split: o.split, size: S, limit: 1 });
    const label = set.rows[0].text;
    let caption = '';
    await m.chat([{ role: 'user', parts: [{ type: 'image', pixels: set.images.subarray(0, 3 * S * S), size: S }, { type: 'text', text: CAPTION_PROMPTS[0] }] }],
      { temperature: 0, maxNewTokens: 32, image: { cfg: 1 }, textOnly: true }, (e) => e.type === 'text' && (caption += e.delta));
    const prompt = T2I_TEMPLATES[0](label);
    const [img] = await m.generateImages(prompt, 1, { cfg: 3, seed: 0, temperature: 1, topK: 100 });
    const file = join(o.outDir, 'samples', `step-${String(o.step).padStart(6, '0')}.png`);
    await mkdir(join(o.outDir, 'samples'), { recursive: true });
    await writeFile(file, await encodePng({ data: img.pixels, channels: 3, height: img.size, width: img.size }, { prompt, step: String(o.step) }));
    return [
      { step: o.step, kind: 'text', value: caption.trim(), prompt: `${CAPTION_PROMPTS[0]} (a ${o.split} image of "${label}")` },
      { step: o.step, kind: 'image', value: file, prompt },
    ];
  } finally {
    await m.release();
  }
}
