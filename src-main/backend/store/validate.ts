// Input validation for the store: zod schemas for the shapes every repository accepts, and one
// helper that turns a zod failure into a single error naming the operation, the field and the
// problem, e.g. `items.insertMany: items[3].width: Too small: expected number to be >=1 (got -2)`.
import { z } from 'zod';

/** Thrown for bad input to any store method; `field` is the dotted path of the first bad field. */
export class StoreInputError extends Error {
  override name = 'StoreInputError';
  constructor(readonly op: string, readonly field: string, problem: string) {
    super(`${op}: ${field}: ${problem}`);
  }
}

function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(value)';
}

function show(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || value === undefined) return String(value);
  try {
    const s = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(value);
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: any = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[key as any];
  }
  return v;
}

/** Parses `value` with `schema` or throws a StoreInputError for the first issue (`root` names it). */
export function parse<T extends z.ZodType>(op: string, root: string, schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = formatPath(root, issue.path);
  const got = valueAt(value, issue.path);
  throw new StoreInputError(op, field, `${issue.message} (got ${show(got)})`);
}

// ---- shared field schemas ----
export const id = z.int().min(1, 'expected a positive integer id');
export const nonEmpty = z.string().min(1, 'must not be empty');
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 as 64 lowercase hex characters');
export const hash64Hex = z.string().regex(/^[0-9a-f]{16}$/, 'expected a 64-bit hash as 16 lowercase hex characters');
export const count = z.int().min(0, 'expected an integer >= 0');
export const jsonObject = z.record(z.string(), z.unknown());

export const ITEM_STATUSES = ['ok', 'broken', 'duplicate', 'near-duplicate'] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];
export const SPLITS = ['train', 'validation', 'test'] as const;
export type Split = (typeof SPLITS)[number];
export const CAPTION_SOURCES = ['import', 'user', 'model'] as const;
export type CaptionSource = (typeof CAPTION_SOURCES)[number];

/** Serialises a JSON column value; rejects what JSON cannot hold (undefined, functions, cycles). */
export function toJson(op: string, field: string, value: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch (e) {
    throw new StoreInputError(op, field, `cannot be stored as JSON: ${(e as Error).message}`);
  }
  if (s === undefined) throw new StoreInputError(op, field, 'cannot be stored as JSON (undefined)');
  return s;
}
