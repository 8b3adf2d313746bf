// Models (a self-describing folder: tokenizer, LM or unified, with its card as JSON) and the
// evaluations measured on them (metrics JSON, optionally tied to a run and a dataset split).
import { z } from 'zod';
import { Db, must, now } from './db.ts';
import { id, jsonObject, nonEmpty, parse, SPLITS, StoreInputError, toJson, type Split } from './validate.ts';

export const MODEL_KINDS = ['tokenizer', 'lm', 'unified'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export interface ModelRow {
  id: number;
  name: string;
  kind: ModelKind;
  dir: string;
  card: Record<string, unknown>;
  createdAt: number;
}

export interface EvaluationRow {
  id: number;
  modelId: number;
  runId: number | null;
  datasetId: number | null;
  split: Split | null;
  metrics: Record<string, unknown>;
  createdAt: number;
}

const NewModel = z.object({ name: nonEmpty, kind: z.enum(MODEL_KINDS), dir: nonEmpty, card: jsonObject.default({}) });
export type NewModel = z.input<typeof NewModel>;

const MCOLS = `id, name, kind, dir, card, created_at AS createdAt`;
const toModel = (r: any): ModelRow => ({ ...r, card: JSON.parse(r.card) });

export class ModelsRepo {
  constructor(private readonly db: Db) {}

  create(input: NewModel): ModelRow {
    const m = parse('models.create', '', NewModel, input);
    if (this.getByName(m.name)) throw new StoreInputError('models.create', 'name', `a model named ${JSON.stringify(m.name)} already exists`);
    const r = this.db.stmt(`INSERT INTO models (name, kind, dir, card, created_at) VALUES (?, ?, ?, ?, ?)`)
      .run(m.name, m.kind, m.dir, toJson('models.create', 'card', m.card), now());
    return this.get(Number(r.lastInsertRowid));
  }

  get(modelId: number): ModelRow {
    return toModel(must(this.db.stmt(`SELECT ${MCOLS} FROM models WHERE id = ?`).get(modelId), 'model', modelId));
  }

  getByName(name: string): ModelRow | undefined {
    const r = this.db.stmt(`SELECT ${MCOLS} FROM models WHERE name = ?`).get(name);
    return r === undefined ? undefined : toModel(r);
  }

  list(filter: { kind?: ModelKind } = {}): ModelRow[] {
    const rows = filter.kind === undefined
      ? this.db.stmt(`SELECT ${MCOLS} FROM models ORDER BY id`).all()
      : this.db.stmt(`SELECT ${MCOLS} FROM models WHERE kind = ? ORDER BY id`).all(filter.kind);
    return rows.map(toModel);
  }

  /** Replaces the model card (e.g. after measuring new numbers). */
  updateCard(modelId: number, card: Record<string, unknown>): ModelRow {
    const c = parse('models.updateCard', 'card', jsonObject, card);
    this.get(modelId);
    this.db.stmt(`UPDATE models SET card = ? WHERE id = ?`).run(toJson('models.updateCard', 'card', c), modelId);
    return this.get(modelId);
  }

  /** Deletes the row (not the folder); its evaluations go too, runs/chats/generations keep a null model. */
  delete(modelId: number): boolean {
    return this.db.stmt(`DELETE FROM models WHERE id = ?`).run(modelId).changes > 0;
  }
}

const NewEvaluation = z.object({
  modelId: id,
  runId: id.nullish(),
  datasetId: id.nullish(),
  split: z.enum(SPLITS).nullish(),
  metrics: jsonObject,
});
export type NewEvaluation = z.input<typeof NewEvaluation>;

const ECOLS = `id, model_id AS modelId, run_id AS runId, dataset_id AS datasetId, split, metrics, created_at AS createdAt`;
const toEval = (r: any): EvaluationRow => ({ ...r, metrics: JSON.parse(r.metrics) });

export class EvaluationsRepo {
  constructor(private readonly db: Db) {}

  add(input: NewEvaluation): EvaluationRow {
    const op = 'evaluations.add';
    const e = parse(op, '', NewEvaluation, input);
    if (!this.db.stmt(`SELECT 1 FROM models WHERE id = ?`).get(e.modelId)) throw new StoreInputError(op, 'modelId', `model ${e.modelId} does not exist`);
    if (e.runId != null && !this.db.stmt(`SELECT 1 FROM runs WHERE id = ?`).get(e.runId)) throw new StoreInputError(op, 'runId', `run ${e.runId} does not exist`);
    if (e.datasetId != null && !this.db.stmt(`SELECT 1 FROM datasets WHERE id = ?`).get(e.datasetId)) throw new StoreInputError(op, 'datasetId', `dataset ${e.datasetId} does not exist`);
    const r = this.db.stmt(`INSERT INTO evaluations (model_id, run_id, dataset_id, split, metrics, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(e.modelId, e.runId ?? null, e.datasetId ?? null, e.split ?? null, toJson(op, 'metrics', e.metrics), now());
    return toEval(this.db.stmt(`SELECT ${ECOLS} FROM evaluations WHERE id = ?`).get(r.lastInsertRowid));
  }

  /** Evaluations, newest first, optionally of one model or one run. */
  list(filter: { modelId?: number; runId?: number } = {}): EvaluationRow[] {
    const where: string[] = [];
    const args: number[] = [];
    if (filter.modelId !== undefined) { where.push('model_id = ?'); args.push(filter.modelId); }
    if (filter.runId !== undefined) { where.push('run_id = ?'); args.push(filter.runId); }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return this.db.stmt(`SELECT ${ECOLS} FROM evaluations ${w} ORDER BY id DESC`).all(...args).map(toEval);
  }
}
