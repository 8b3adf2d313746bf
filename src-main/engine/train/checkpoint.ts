// Training checkpoints: DIR/step-00000123/{model.safetensors, optimizer.safetensors, state.json}.
// A checkpoint is written into a temporary folder, fsynced, and renamed into place, then
// DIR/latest.json is replaced atomically; a crash at any moment leaves the previous one usable.
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../io/atomic.ts';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../io/safetensors.ts';
import type { RngState } from '../util/rng.ts';
import type { TrainingState } from './trainer.ts';

const FORMAT = 'tessera-checkpoint/1';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

interface StateJson {
  format: string;
  step: number;
  rng: RngState;
  data: unknown;
  shapes: Record<string, number[]>;
  meta: Record<string, unknown>;
}

const writeJsonAtomic = (path: string, value: unknown) => writeFileAtomic(path, JSON.stringify(value, null, 1));

const stepDir = (step: number) => `step-${String(step).padStart(8, '0')}`;

function tensors(map: Map<string, Float32Array>, shapes: Map<string, number[]>, prefix = ''): Map<string, SafeTensor> {
  return new Map([...map].map(([n, d]) => [prefix + n, { dtype: 'F32', shape: shapes.get(n)!, data: d }]));
}

/** Save the state under DIR; keeps the newest `keep` checkpoints. Returns the checkpoint folder. */
export async function saveCheckpoint(dir: string, s: TrainingState, shapes: Map<string, number[]>, meta: Record<string, unknown> = {}, keep = 3): Promise<string> {
  await mkdir(dir, { recursive: true });
  const name = stepDir(s.step);
  const tmp = join(dir, `.${name}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  await writeSafetensors(join(tmp, 'model.safetensors'), tensors(s.params, shapes), { format: 'pt' });
  await writeSafetensors(join(tmp, 'optimizer.safetensors'), new Map([...tensors(s.m, shapes, 'm.'), ...tensors(s.v, shapes, 'v.')]));
  const state: StateJson = { format: FORMAT, step: s.step, rng: s.rng, data: s.data, shapes: Object.fromEntries(shapes), meta };
  await writeJsonAtomic(join(tmp, 'state.json'), state);
  await fsyncDir(tmp);
  const final = join(dir, name);
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  await fsyncDir(dir);
  await writeJsonAtomic(join(dir, 'latest.json'), { checkpoint: name, step: s.step });
  await fsyncDir(dir);
  const all = (await readdir(dir)).filter((d) => /^step-\d{8}$/.test(d)).sort();
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await rm(join(dir, old), { recursive: true, force: true });
  return final;
}

export interface LoadedCheckpoint {
  state: TrainingState;
  meta: Record<string, unknown>;
  path: string;
}

export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  let st: StateJson;
  try {
    st = JSON.parse(await readFile(join(path, 'state.json'), 'utf8'));
  } catch (err) {
    throw new CheckpointError(`${join(path, 'state.json')}: cannot read checkpoint state (${(err as Error).message})`);
  }
  if (st.format !== FORMAT) throw new CheckpointError(`${path}: unknown checkpoint format '${st.format}' (expected ${FORMAT})`);
  const model = await readSafetensors(join(path, 'model.safetensors'));
  const opt = await readSafetensors(join(path, 'optimizer.safetensors'));
  const f32 = (t: SafeTensor | undefined, name: string, file: string) => {
    if (!t || t.dtype !== 'F32') throw new CheckpointError(`${join(path, file)}: tensor '${name}' is missing or not F32`);
    return t.data as Float32Array;
  };
  const params = new Map([...model.tensors.keys()].map((n) => [n, f32(model.tensors.get(n), n, 'model.safetensors')]));
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const [n, t] of opt.tensors) (n.startsWith('m.') ? m : v).set(n.slice(2), f32(t, n, 'optimizer.safetensors'));
  return { state: { step: st.step, params, m, v, rng: st.rng, data: st.data }, meta: st.meta, path };
}

/**
 * The newest checkpoint under DIR that loads, or null when there is none. A newer one that cannot be
 * read is passed over, and `notice` says which and why; when none loads, the error lists them all.
 */
export async function loadLatestCheckpoint(dir: string, notice?: (message: string) => void): Promise<LoadedCheckpoint | null> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((d) => /^step-\d{8}$/.test(d)).sort().reverse();
  } catch {
    return null;
  }
  const errors: string[] = [];
  for (const name of names) {
    try {
      const ck = await loadCheckpoint(join(dir, name));
      for (const e of errors) notice?.(`passed over a checkpoint that cannot be read (${e}); resuming from step ${ck.state.step} (${ck.path})`);
      return ck;
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length) throw new CheckpointError(`no usable checkpoint in ${dir}:\n  ${errors.join('\n  ')}`);
  return null;
}
