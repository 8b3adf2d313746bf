// Handlers: datasets (import and tokenize as jobs), the grid's item pages (filters, keyset paging),
// item detail with caption history and tags, caption and tag edits, duplicates, splits, export and
// codebook usage. Curation logic lives in backend/datasets; these translate contract ⇄ store.
import { fileUrl, ValidationError, type Dataset, type Item } from '../../contract/api.ts';
import { readImageTokenizerConfig } from '../../engine/models/image-tokenizer.ts';
import { assignSplits, editCaptions, exportImagefolder, findDuplicates } from '../datasets/index.ts';
import { tokenizerIdOf } from '../jobs/kinds.ts';
import { jobToApi } from '../jobs/runner.ts';
import type { DatasetRow, ItemRow, ItemWithCaption, Store } from '../store/index.ts';
import type { Ctx, Handlers } from './context.ts';

function datasetToApi(store: Store, d: DatasetRow): Dataset {
  const s = store.items.stats(d.id);
  return { ...d, total: s.total, byStatus: s.byStatus, bySplit: s.bySplit, importErrors: store.importErrors.list(d.id).length };
}

function itemToApi(store: Store, r: ItemRow | ItemWithCaption): Item {
  const caption = 'caption' in r ? r.caption : store.captions.current(r.id)?.text ?? null;
  return {
    id: r.id, datasetId: r.datasetId, path: r.path, bytes: r.bytes, width: r.width, height: r.height, status: r.status,
    statusReason: r.statusReason, duplicateOf: r.duplicateOf, split: r.split, caption, url: fileUrl('items', r.id),
  };
}

const captionsOf = (store: Store, itemId: number) =>
  store.captions.history(itemId).map(({ id, text, isCurrent, source, createdAt }) => ({ id, text, isCurrent, source, createdAt }));

export function datasetHandlers(ctx: Ctx): Pick<Handlers, 'datasets.list' | 'datasets.get' | 'datasets.import' | 'datasets.delete' | 'datasets.importErrors' | 'datasets.items'
  | 'datasets.item' | 'datasets.editCaption' | 'datasets.revertCaption' | 'datasets.addTag' | 'datasets.removeTag' | 'datasets.findDuplicates' | 'datasets.duplicates'
  | 'datasets.removeItems' | 'datasets.assignSplits' | 'datasets.setSplit' | 'datasets.export' | 'datasets.tokenize' | 'datasets.codebookUsage'> {
  const { store, runner } = ctx;
  const changed = (datasetId: number) => ctx.emit({ type: 'dataset.changed', datasetId });
  return {
    'datasets.list': () => ({ datasets: store.datasets.list().map((d) => datasetToApi(store, d)) }),
    'datasets.get': ({ id }) => ({ dataset: datasetToApi(store, store.datasets.get(id)), tags: store.tags.counts(id) }),
    'datasets.import': ({ kind, path, name }) => {
      if (kind !== 'emoji' && !path) throw new ValidationError('datasets.import', 'path', `a ${kind} import needs the path of its ${kind === 'csv' || kind === 'coco' ? 'file' : 'folder'}`);
      if (store.datasets.getByName(name)) throw new ValidationError('datasets.import', 'name', `a dataset named ${JSON.stringify(name)} already exists`);
      return { job: jobToApi(runner.submit({ kind: 'import', title: `Import ${name} (${kind})`, params: { kind, path, name } })) };
    },
    'datasets.delete': ({ id }) => ({ deleted: store.datasets.delete(id) }),
    'datasets.importErrors': ({ datasetId }) => ({ errors: store.importErrors.list(datasetId).map(({ id, path, reason, createdAt }) => ({ id, path, reason, createdAt })) }),
    'datasets.items': ({ split, ...q }) => {
      const page = store.items.query({ ...q, split: split === 'none' ? null : split });
      return { items: page.rows.map((r) => itemToApi(store, r)), total: page.total, nextAfterId: page.nextAfterId };
    },
    'datasets.item': ({ id }) => ({ item: itemToApi(store, store.items.get(id)), captions: captionsOf(store, id), tags: store.tags.list(id) }),
    'datasets.editCaption': ({ itemId, text }) => {
      editCaptions(store, [{ itemId, text }]);
      return { item: itemToApi(store, store.items.get(itemId)), captions: captionsOf(store, itemId) };
    },
    'datasets.revertCaption': ({ captionId }) => {
      const c = store.captions.revert(captionId);
      return { item: itemToApi(store, store.items.get(c.itemId)), captions: captionsOf(store, c.itemId) };
    },
    'datasets.addTag': ({ itemIds, tag }) => ({ added: store.tags.addMany(itemIds, tag) }),
    'datasets.removeTag': ({ itemId, tag }) => ({ removed: store.tags.remove(itemId, tag) }),
    'datasets.findDuplicates': async ({ datasetId, maxDistance }) => {
      const s = await findDuplicates(store, datasetId, { threshold: maxDistance });
      changed(datasetId);
      return { exact: s.exact, near: s.near };
    },
    'datasets.duplicates': ({ datasetId, limit }) => {
      const dups = store.items.query({ datasetId, duplicate: true, limit: 1000 }).rows;
      const byKeeper = new Map<number, ItemWithCaption[]>();
      for (const d of dups) if (d.duplicateOf !== null) byKeeper.set(d.duplicateOf, [...(byKeeper.get(d.duplicateOf) ?? []), d]);
      const groups = [...byKeeper].slice(0, limit).map(([keeper, members]) => ({ original: itemToApi(store, store.items.get(keeper)), duplicates: members.map((m) => itemToApi(store, m)) }));
      return { groups };
    },
    'datasets.removeItems': ({ itemIds }) => ({ removed: store.items.delete(itemIds) }),
    'datasets.assignSplits': ({ datasetId, spec }) => {
      const counts = assignSplits(store, datasetId, spec);
      changed(datasetId);
      return { counts };
    },
    'datasets.setSplit': ({ itemIds, split }) => ({ changed: store.items.setSplit(itemIds, split) }),
    'datasets.export': async ({ datasetId, outDir, split }) => {
      const s = await exportImagefolder(store, datasetId, outDir, split ? { filter: { split } } : {});
      return { dir: s.outDir, written: s.exported };
    },
    'datasets.tokenize': ({ datasetId, modelId }) => {
      const d = store.datasets.get(datasetId);
      const m = store.models.get(modelId);
      if (m.kind !== 'tokenizer' && m.kind !== 'unified') throw new ValidationError('datasets.tokenize', 'modelId', `model "${m.name}" is a ${m.kind} model; choose an image tokenizer (or a unified model)`);
      return { job: jobToApi(runner.submit({ kind: 'tokenize', title: `Tokenize ${d.name} with ${m.name}`, params: { datasetId, modelId }, datasetId })) };
    },
    'datasets.codebookUsage': async ({ datasetId, modelId }) => {
      store.datasets.get(datasetId);
      const m = store.models.get(modelId);
      const K = (await readImageTokenizerConfig(m.dir)).codebook_size;
      const tokenizerId = tokenizerIdOf(m);
      const u = store.tokenCache.usage(datasetId, tokenizerId, K);
      return { tokenizerId, ...u, histogram: Array.from(store.tokenCache.histogram(datasetId, tokenizerId, K)) };
    },
  };
}
