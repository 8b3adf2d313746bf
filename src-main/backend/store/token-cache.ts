// The token cache: an item's discrete codes under one tokenizer (tokenizer_id = name + version hash).
// Codes are packed as little-endian uint16 when every code is < 65536, else uint32, row-major over
// `shape`. `usage` reports the fraction of a codebook that a dataset's cached codes actually use.
import { z } from 'zod';
import { Db, now } from './db.ts';
import { id, nonEmpty, parse, StoreInputError } from './validate.ts';

export type CodeDtype = 'uint16' | 'uint32';

export interface CachedCodes {
  itemId: number;
  tokenizerId: string;
  dtype: CodeDtype;
  shape: number[];
  codes: Uint16Array | Uint32Array;
  createdAt: number;
}

export interface CodebookUsage {
  /** distinct / codebookSize */
  fraction: number;
  distinct: number;
  codebookSize: number;
  /** Cached items that were read, and the codes they hold in total. */
  items: number;
  codes: number;
}

/** Packs codes (integers in [0, 2^32)) into a little-endian blob of the narrowest dtype that fits. */
export function packCodes(codes: ArrayLike<number>, op = 'packCodes'): { dtype: CodeDtype; blob: Buffer } {
  let max = 0;
  for (let k = 0; k < codes.length; k++) {
    const v = codes[k];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new StoreInputError(op, `codes[${k}]`, `expected an integer code in [0, 2^32), got ${v}`);
    if (v > max) max = v;
  }
  const dtype: CodeDtype = max < 65536 ? 'uint16' : 'uint32';
  const blob = Buffer.allocUnsafe(codes.length * (dtype === 'uint16' ? 2 : 4));
  if (dtype === 'uint16') for (let k = 0; k < codes.length; k++) blob.writeUInt16LE(codes[k], 2 * k);
  else for (let k = 0; k < codes.length; k++) blob.writeUInt32LE(codes[k], 4 * k);
  return { dtype, blob };
}

/** Inverse of packCodes. */
export function unpackCodes(blob: Uint8Array, dtype: CodeDtype): Uint16Array | Uint32Array {
  const width = dtype === 'uint16' ? 2 : 4;
  if (blob.byteLength % width !== 0) throw new Error(`token cache blob of ${blob.byteLength} bytes is not a whole number of ${dtype} codes`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const n = blob.byteLength / width;
  if (dtype === 'uint16') {
    const out = new Uint16Array(n);
    for (let k = 0; k < n; k++) out[k] = view.getUint16(2 * k, true);
    return out;
  }
  const out = new Uint32Array(n);
  for (let k = 0; k < n; k++) out[k] = view.getUint32(4 * k, true);
  return out;
}

const shapeSchema = z.array(z.int().min(0, 'expected dimensions >= 0')).min(1, 'expected at least one dimension');

export class TokenCacheRepo {
  constructor(private readonly db: Db) {}

  /** Stores (or replaces) the codes of one item under one tokenizer. `shape` must multiply to codes.length. */
  put(itemId: number, tokenizerId: string, codes: ArrayLike<number>, shape: readonly number[]): { dtype: CodeDtype; bytes: number } {
    const op = 'tokenCache.put';
    parse(op, 'itemId', id, itemId);
    parse(op, 'tokenizerId', nonEmpty, tokenizerId);
    const sh = parse(op, 'shape', shapeSchema, shape);
    const n = sh.reduce((a, b) => a * b, 1);
    if (n !== codes.length) throw new StoreInputError(op, 'shape', `[${sh.join(', ')}] holds ${n} codes but ${codes.length} were given`);
    const { dtype, blob } = packCodes(codes, op);
    if (!this.db.stmt(`SELECT 1 FROM items WHERE id = ?`).get(itemId)) throw new StoreInputError(op, 'itemId', `item ${itemId} does not exist`);
    this.db.stmt(`INSERT INTO token_cache (item_id, tokenizer_id, dtype, shape, codes, created_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (item_id, tokenizer_id) DO UPDATE SET dtype = excluded.dtype, shape = excluded.shape, codes = excluded.codes, created_at = excluded.created_at`)
      .run(itemId, tokenizerId, dtype, JSON.stringify(sh), blob, now());
    return { dtype, bytes: blob.byteLength };
  }

  /** Many puts in one transaction (a tokenization job's batch). */
  putMany(tokenizerId: string, entries: readonly { itemId: number; codes: ArrayLike<number>; shape: readonly number[] }[]): number {
    return this.db.tx(() => {
      for (const e of entries) this.put(e.itemId, tokenizerId, e.codes, e.shape);
      return entries.length;
    });
  }

  get(itemId: number, tokenizerId: string): CachedCodes | undefined {
    const r = this.db.stmt(`SELECT item_id AS itemId, tokenizer_id AS tokenizerId, dtype, shape, codes, created_at AS createdAt
      FROM token_cache WHERE item_id = ? AND tokenizer_id = ?`).get(itemId, tokenizerId) as (Omit<CachedCodes, 'shape' | 'codes'> & { shape: string; codes: Buffer }) | undefined;
    if (!r) return undefined;
    return { ...r, shape: JSON.parse(r.shape) as number[], codes: unpackCodes(r.codes, r.dtype) };
  }

  /** Ids of the dataset's items that have no cached codes under this tokenizer (work left to do). */
  missing(datasetId: number, tokenizerId: string): number[] {
    return (this.db.stmt(`SELECT i.id FROM items i WHERE i.dataset_id = ? AND i.status = 'ok'
      AND NOT EXISTS (SELECT 1 FROM token_cache t WHERE t.item_id = i.id AND t.tokenizer_id = ?) ORDER BY i.id`)
      .all(datasetId, tokenizerId) as { id: number }[]).map((r) => r.id);
  }

  /** Drops every cached entry of a tokenizer (all datasets); returns how many. */
  deleteTokenizer(tokenizerId: string): number {
    return this.db.stmt(`DELETE FROM token_cache WHERE tokenizer_id = ?`).run(tokenizerId).changes;
  }

  /** How often each code occurs in the dataset's cached codes under this tokenizer: (codebookSize) counts. */
  histogram(datasetId: number, tokenizerId: string, codebookSize: number): Float64Array {
    return this.count('tokenCache.histogram', datasetId, tokenizerId, codebookSize).hist;
  }

  /** Fraction of the codebook used by the dataset's cached codes, counted in JS over the blobs. */
  usage(datasetId: number, tokenizerId: string, codebookSize: number): CodebookUsage {
    const { hist, items, total } = this.count('tokenCache.usage', datasetId, tokenizerId, codebookSize);
    const distinct = hist.reduce((n, c) => n + (c > 0 ? 1 : 0), 0);
    return { fraction: distinct / codebookSize, distinct, codebookSize, items, codes: total };
  }

  /** One pass over the dataset's cached blobs: per-code counts, items read, codes in total. */
  private count(op: string, datasetId: number, tokenizerId: string, codebookSize: number) {
    parse(op, 'codebookSize', z.int().min(1).max(0xffffffff), codebookSize);
    const hist = new Float64Array(codebookSize);
    let items = 0, total = 0;
    const rows = this.db.stmt(`SELECT t.item_id AS itemId, t.dtype AS dtype, t.codes AS codes FROM token_cache t JOIN items i ON i.id = t.item_id
      WHERE i.dataset_id = ? AND t.tokenizer_id = ?`).iterate(datasetId, tokenizerId) as IterableIterator<{ itemId: number; dtype: CodeDtype; codes: Buffer }>;
    for (const r of rows) {
      const codes = unpackCodes(r.codes, r.dtype);
      for (let k = 0; k < codes.length; k++) {
        const c = codes[k];
        if (c >= codebookSize) throw new StoreInputError(op, 'codebookSize', `${codebookSize} is too small: item ${r.itemId} holds code ${c} under tokenizer ${JSON.stringify(tokenizerId)}`);
        hist[c]++;
      }
      items++;
      total += codes.length;
    }
    return { hist, items, total };
  }
}
