// Train/validation/test assignment for a dataset, in bulk and deterministic. Either by fractions:
// the 'ok' items, sorted by path, are shuffled with a seeded PRNG (splitmix32, below) and cut into
// exact counts (largest-remainder rounding); or by path prefix (the emoji set holds out a whole
// style folder). Items that are not 'ok' always get no split.
import { z } from 'zod';
import { Db } from './db.ts';
import { id, parse, SPLITS, StoreInputError, type Split } from './validate.ts';

/** splitmix32: a tiny, well-mixed 32-bit PRNG; same seed, same sequence, on every platform. */
export class SplitMix32 {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

const fraction = z.number().min(0, 'expected a fraction in [0, 1]').max(1, 'expected a fraction in [0, 1]');
const Fractions = z.object({ train: fraction, validation: fraction, test: fraction })
  .refine((f) => Math.abs(f.train + f.validation + f.test - 1) < 1e-9, { message: 'train + validation + test must sum to 1' });
const SplitSpec = z.union([
  z.object({ seed: z.int().min(0).max(0xffffffff), fractions: Fractions }).strict(),
  z.object({ byPathPrefix: z.record(z.string().min(1), z.enum(SPLITS)) }).strict(),
]);
export type SplitSpec =
  | { seed: number; fractions: { train: number; validation: number; test: number } }
  | { byPathPrefix: Record<string, Split> };

export type SplitCounts = Record<Split | 'none', number>;

/** Exact counts for n items: floor of each share, leftovers to the largest remainders (train first on ties). */
export function splitCounts(n: number, f: { train: number; validation: number; test: number }): Record<Split, number> {
  const shares = SPLITS.map((s) => n * f[s]);
  const counts = shares.map(Math.floor);
  let left = n - counts.reduce((a, b) => a + b, 0);
  const order = [0, 1, 2].sort((a, b) => (shares[b] - counts[b]) - (shares[a] - counts[a]) || a - b);
  for (const k of order) if (left > 0 && f[SPLITS[k]] > 0) { counts[k]++; left--; }
  return { train: counts[0], validation: counts[1], test: counts[2] };
}

export function assignSplits(db: Db, datasetId: number, spec: SplitSpec): SplitCounts {
  const op = 'items.assignSplits';
  parse(op, 'datasetId', id, datasetId);
  const s = parse(op, 'spec', SplitSpec, spec);
  return db.tx(() => {
    if (!db.stmt(`SELECT 1 FROM datasets WHERE id = ?`).get(datasetId)) throw new StoreInputError(op, 'datasetId', `dataset ${datasetId} does not exist`);
    const ok = db.stmt(`SELECT id, path FROM items WHERE dataset_id = ? AND status = 'ok' ORDER BY path`).all(datasetId) as { id: number; path: string }[];
    const out: SplitCounts = { train: 0, validation: 0, test: 0, none: 0 };
    const assigned = new Map<number, Split | null>();
    if ('fractions' in s) {
      const rng = new SplitMix32(s.seed);
      for (let k = ok.length - 1; k > 0; k--) {
        const j = rng.below(k + 1);
        [ok[k], ok[j]] = [ok[j], ok[k]];
      }
      const c = splitCounts(ok.length, s.fractions);
      ok.forEach((it, k) => assigned.set(it.id, k < c.train ? 'train' : k < c.train + c.validation ? 'validation' : 'test'));
    } else {
      const prefixes = Object.keys(s.byPathPrefix).sort((a, b) => b.length - a.length);
      for (const it of ok) {
        const p = prefixes.find((x) => it.path.startsWith(x));
        assigned.set(it.id, p === undefined ? null : s.byPathPrefix[p]);
      }
    }
    db.stmt(`UPDATE items SET split = NULL WHERE dataset_id = ?`).run(datasetId);
    const upd = db.stmt(`UPDATE items SET split = ? WHERE id = ?`);
    for (const [itemId, split] of assigned) if (split !== null) upd.run(split, itemId);
    for (const split of assigned.values()) out[split ?? 'none']++;
    out.none += (db.stmt(`SELECT count(*) AS n FROM items WHERE dataset_id = ? AND status <> 'ok'`).get(datasetId) as { n: number }).n;
    return out;
  });
}
