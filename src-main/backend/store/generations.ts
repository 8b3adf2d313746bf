// Generated images: the prompt, the sampling parameters (seed, cfg, temperature and any others, as
// JSON), the model and the PNG written. Enough to reproduce or re-run a generation.
import { z } from 'zod';
import { Db, must, now } from './db.ts';
import { id, nonEmpty, parse, StoreInputError, toJson } from './validate.ts';

export interface GenerationParams {
  seed: number;
  cfg: number;
  temperature: number;
  [key: string]: unknown;
}

export interface GenerationRow {
  id: number;
  prompt: string;
  params: GenerationParams;
  modelId: number | null;
  imagePath: string;
  createdAt: number;
}

const Params = z.looseObject({ seed: z.int(), cfg: z.number(), temperature: z.number().min(0, 'expected a temperature >= 0') });
const NewGeneration = z.object({ prompt: z.string(), params: Params, modelId: id.nullable(), imagePath: nonEmpty });
export type NewGeneration = z.input<typeof NewGeneration>;

const COLS = `id, prompt, params, model_id AS modelId, image_path AS imagePath, created_at AS createdAt`;
const toRow = (r: any): GenerationRow => ({ ...r, params: JSON.parse(r.params) });

export class GenerationsRepo {
  constructor(private readonly db: Db) {}

  add(input: NewGeneration): GenerationRow {
    const op = 'generations.add';
    const g = parse(op, '', NewGeneration, input);
    if (g.modelId !== null && !this.db.stmt(`SELECT 1 FROM models WHERE id = ?`).get(g.modelId)) throw new StoreInputError(op, 'modelId', `model ${g.modelId} does not exist`);
    const r = this.db.stmt(`INSERT INTO generations (prompt, params, model_id, image_path, created_at) VALUES (?, ?, ?, ?, ?)`)
      .run(g.prompt, toJson(op, 'params', g.params), g.modelId, g.imagePath, now());
    return this.get(Number(r.lastInsertRowid));
  }

  get(generationId: number): GenerationRow {
    return toRow(must(this.db.stmt(`SELECT ${COLS} FROM generations WHERE id = ?`).get(generationId), 'generation', generationId));
  }

  /** Newest first; optionally of one model; keyset paging with beforeId. */
  list(opts: { modelId?: number; limit?: number; beforeId?: number } = {}): GenerationRow[] {
    const where = ['id < ?'];
    const args: number[] = [opts.beforeId ?? Number.MAX_SAFE_INTEGER];
    if (opts.modelId !== undefined) { where.push('model_id = ?'); args.push(opts.modelId); }
    return this.db.stmt(`SELECT ${COLS} FROM generations WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...args, opts.limit ?? 100).map(toRow);
  }

  delete(generationId: number): boolean {
    return this.db.stmt(`DELETE FROM generations WHERE id = ?`).run(generationId).changes > 0;
  }
}
