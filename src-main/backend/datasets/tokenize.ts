// tokenizeDataset: caches every 'ok' item of a dataset as discrete codes under one tokenizer.
// Items already cached are skipped (a re-run resumes); the rest are decoded to the codec's square
// size (engine/io/image.ts), encoded in batches, and stored as codes k = tokenId - firstTokenId,
// shape (positions, depth), one transaction per batch. An image that fails to decode is marked
// 'broken'. Returns codebook usage and perplexity over all of the dataset's cached codes.
import path from 'node:path';
import { decodeImage } from '../../engine/io/image.ts';
import type { ImageCodec } from '../../engine/models/image-codec.ts';
import type { Store } from '../store/index.ts';
import { mapPool } from './files.ts';
import type { RunOptions } from './types.ts';

export interface TokenizeOptions extends RunOptions {
  /** Names the codec and its version in the cache (e.g. `unicode-64@<sha256 of weights>`). */
  tokenizerId: string;
  /** Images per encode call (default 32). */
  batchSize?: number;
  /** Images decoded at once (default 4). */
  concurrency?: number;
}

export interface TokenizeSummary {
  tokenizerId: string;
  /** Items encoded in this run, items already cached, items found undecodable. */
  encoded: number;
  cached: number;
  broken: number;
  /** Over every cached code of the dataset: fraction of the codebook used, and exp(entropy) in codes. */
  usage: number;
  perplexity: number;
  codes: number;
  seconds: number;
}

/** Usage and perplexity from a code histogram (the quantities of engine/quant/metrics.ts). */
export function histogramStats(hist: Float64Array): { usage: number; perplexity: number; codes: number } {
  let n = 0, used = 0, ent = 0;
  for (const c of hist) { n += c; if (c > 0) used++; }
  for (const c of hist) if (c > 0) ent -= (c / n) * Math.log(c / n);
  return { usage: used / hist.length, perplexity: n === 0 ? 0 : Math.exp(ent), codes: n };
}

export async function tokenizeDataset(store: Store, datasetId: number, codec: ImageCodec, opts: TokenizeOptions): Promise<TokenizeSummary> {
  const t0 = performance.now();
  const { imageSize: S, positions: P, depth: D, codebookSize: K, firstTokenId: first } = codec;
  const batchSize = opts.batchSize ?? 32;
  const root = store.datasets.get(datasetId).rootPath;
  const todo = store.tokenCache.missing(datasetId, opts.tokenizerId);
  const cached = store.items.stats(datasetId).byStatus.ok - todo.length;
  let encoded = 0, broken = 0;
  opts.onProgress?.({ phase: 'tokenize', done: 0, total: todo.length, bad: 0 });
  for (let b = 0; b < todo.length; b += batchSize) {
    opts.signal?.throwIfAborted();
    const items = todo.slice(b, b + batchSize).map((id) => store.items.get(id));
    const decoded = await mapPool(items, opts.concurrency ?? 4, async (it) => {
      try {
        return await decodeImage(path.join(root, ...it.path.split('/')), { size: S, source: it.path }); // (3, S, S)
      } catch (e) {
        return e as Error;
      }
    });
    const good = items.filter((_, k) => !(decoded[k] instanceof Error));
    const pixels = new Float32Array(good.length * 3 * S * S); // (N, 3, S, S)
    let n = 0;
    decoded.forEach((d) => { if (!(d instanceof Error)) pixels.set(d.data, 3 * S * S * n++); });
    const tokens = good.length ? await codec.encode(pixels, good.length) : new Int32Array(0); // (N, P, D)
    if (tokens.length !== good.length * P * D) throw new Error(`tokenizeDataset: codec returned ${tokens.length} token ids for ${good.length} images; expected ${good.length}×${P}×${D}`);
    opts.signal?.throwIfAborted();
    store.transaction(() => {
      store.tokenCache.putMany(opts.tokenizerId, good.map((it, k) => {
        const codes = new Uint32Array(P * D); // (P, D)
        for (let j = 0; j < P * D; j++) {
          const c = tokens[k * P * D + j] - first;
          if (c < 0 || c >= K) throw new Error(`tokenizeDataset: codec returned token id ${tokens[k * P * D + j]} for ${it.path}, outside its codebook [${first}, ${first + K})`);
          codes[j] = c;
        }
        return { itemId: it.id, codes, shape: [P, D] };
      }));
      items.forEach((it, k) => {
        const d = decoded[k];
        if (!(d instanceof Error)) return;
        store.items.setStatus(it.id, 'broken', { reason: `${d.message} (while tokenizing)` });
        store.importErrors.add(datasetId, it.path, `${d.message} (found while tokenizing)`);
        broken++;
      });
    });
    encoded += good.length;
    opts.onProgress?.({ phase: 'tokenize', done: Math.min(b + batchSize, todo.length), total: todo.length, bad: broken });
  }
  const stats = histogramStats(store.tokenCache.histogram(datasetId, opts.tokenizerId, K));
  return { tokenizerId: opts.tokenizerId, encoded, cached, broken, ...stats, seconds: (performance.now() - t0) / 1000 };
}
