// The unified model folder (DESIGN.md "Formats"): tessera.json (the card: name, parts, recipe,
// measured metrics), config.json (HF LlamaConfig fields + the unified fields), model.safetensors
// (HF key names), tokenizer.json + tokenizer_config.json, image-tokenizer/ (the VQ tokenizer folder).
// Writing copies the tokenizers in; reading checks every part and names the file and field at fault.
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../io/safetensors.ts';
import { parseUnifiedConfig, unifiedParamShapes, type UnifiedConfig } from '../models/unicode.ts';

export class ModelFolderError extends Error {
  override name = 'ModelFolderError';
}

export interface ModelCard {
  format: 'tessera-model/1';
  name: string;
  parts: { lm: string; textTokenizer: string; imageTokenizer: string };
  recipe?: unknown;
  /** Measured numbers, with where they were measured (e.g. the held-out facebook style). */
  metrics?: Record<string, number | string>;
  training?: Record<string, number | string>;
}

export const PARTS = { lm: '.', textTokenizer: 'tokenizer.json', imageTokenizer: 'image-tokenizer' } as const;

export interface SaveModelOptions {
  config: UnifiedConfig;
  weights: Map<string, Float32Array>;
  textTokenizerDir: string;
  imageTokenizerDir: string;
  card: Omit<ModelCard, 'format' | 'parts'>;
}

/** Write the folder next to `dir` and rename it into place, so a reader never sees half a model. */
export async function saveModelFolder(dir: string, o: SaveModelOptions): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const shapes = unifiedParamShapes(o.config);
  const tensors = new Map([...shapes].map(([n, shape]) => {
    const d = o.weights.get(n);
    if (!d || d.length !== shape.reduce((a, b) => a * b, 1)) throw new ModelFolderError(`saveModelFolder: weight '${n}' is missing or not of shape [${shape}]`);
    return [n, { dtype: 'F32' as const, shape, data: d }];
  }));
  await writeSafetensors(join(tmp, 'model.safetensors'), tensors, { format: 'pt' });
  await writeFile(join(tmp, 'config.json'), JSON.stringify({ architectures: ['TesseraUniCodeForCausalLM'], ...o.config }, null, 2) + '\n');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) await cp(join(o.textTokenizerDir, f), join(tmp, f));
  await cp(o.imageTokenizerDir, join(tmp, PARTS.imageTokenizer), { recursive: true });
  const card: ModelCard = { format: 'tessera-model/1', parts: { ...PARTS }, ...o.card };
  await writeFile(join(tmp, 'tessera.json'), JSON.stringify(card, null, 2) + '\n');
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ModelFolderError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); is this a tessera model folder?`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelFolderError(`${file}: invalid JSON (${(err as Error).message})`);
  }
}

export interface LoadedModelFolder {
  dir: string;
  card: ModelCard;
  config: UnifiedConfig;
  weights: Map<string, Float32Array>;
  textTokenizerDir: string;
  imageTokenizerDir: string;
}

/** Read and check config.json, model.safetensors and the card; the tokenizers are loaded by the caller. */
export async function loadModelFolder(dir: string): Promise<LoadedModelFolder> {
  const card = (await readJson(join(dir, 'tessera.json'))) as ModelCard;
  if (card?.format !== 'tessera-model/1') throw new ModelFolderError(`${join(dir, 'tessera.json')}: field 'format' must be 'tessera-model/1', got ${JSON.stringify(card?.format)}`);
  const cfgFile = join(dir, 'config.json');
  let config: UnifiedConfig;
  try {
    config = parseUnifiedConfig(await readJson(cfgFile), cfgFile);
  } catch (err) {
    throw new ModelFolderError((err as Error).message);
  }
  const wFile = join(dir, 'model.safetensors');
  let st;
  try {
    st = await readSafetensors(wFile);
  } catch (err) {
    throw new ModelFolderError((err as Error).message); // the safetensors reader names the file
  }
  const weights = new Map<string, Float32Array>();
  for (const [n, shape] of unifiedParamShapes(config)) {
    const t = st.tensors.get(n);
    if (!t) throw new ModelFolderError(`${wFile}: tensor '${n}' is missing (config.json describes a model that needs it)`);
    if (t.dtype !== 'F32' || t.shape.join() !== shape.join()) throw new ModelFolderError(`${wFile}: tensor '${n}' is ${t.dtype}[${t.shape}], config.json needs F32[${shape}]`);
    weights.set(n, t.data as Float32Array);
  }
  return { dir, card, config, weights, textTokenizerDir: dir, imageTokenizerDir: join(dir, card.parts?.imageTokenizer ?? PARTS.imageTokenizer) };
}
