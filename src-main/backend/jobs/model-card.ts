// What kind of model a folder holds, and its card: a unified model folder has a tessera.json
// (format tessera-model/1, with its parts); an image tokenizer folder has a config.json with
// model_type tessera-vqtok (and may carry a card.json with its measured numbers); any tessera.json
// may also name its kind. Errors name the file.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { MODEL_KINDS, type ModelKind } from '../store/index.ts';

export interface FolderModel {
  kind: ModelKind;
  name: string;
  card: Record<string, unknown>;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The model in `dir`, or null when the folder holds no model Tessera knows (the reason is thrown by describeFolder). */
export async function readFolderModel(dir: string): Promise<FolderModel | null> {
  const cardFile = join(dir, 'tessera.json');
  if (existsSync(cardFile)) {
    const card = await readJson(cardFile);
    const named = MODEL_KINDS.includes(card.kind as ModelKind) ? (card.kind as ModelKind) : null;
    const kind = named ?? (card.format === 'tessera-model/1' && card.parts ? 'unified' : null);
    if (kind === null) return null;
    return { kind, name: typeof card.name === 'string' ? card.name : basename(dir), card };
  }
  const configFile = join(dir, 'config.json');
  if (existsSync(configFile)) {
    const config = await readJson(configFile);
    if (config.model_type === 'tessera-vqtok') {
      // an optional card.json beside it: its `metrics`, or the numbers it measured on held-out data
      const extra = existsSync(join(dir, 'card.json')) ? await readJson(join(dir, 'card.json')) : {};
      const metrics = extra.metrics ?? extra.held_out; // the API shows its numeric entries
      return { kind: 'tokenizer', name: basename(dir), card: { ...extra, format: 'tessera-vqtok', config, ...(metrics ? { metrics } : {}) } };
    }
  }
  return null;
}
