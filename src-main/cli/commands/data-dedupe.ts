// `tessera data dedupe`: finds and marks a dataset's exact duplicates (same bytes) and near
// duplicates (64-bit pHash within --threshold bits), computing missing perceptual hashes first.
import { findDuplicates } from '../../backend/datasets/index.ts';
import { intFlag, parseFlags, UsageError, type Command } from '../command.ts';
import { progressLine, withStore } from './data-import.ts';

export const dataDedupe: Command = {
  name: 'data dedupe',
  summary: 'Find and mark exact and near-duplicate images in a dataset',
  usage: 'data dedupe --store FILE --dataset NAME [--threshold 6]',
  async run(argv) {
    const { values } = parseFlags(argv, { store: { type: 'string' }, dataset: { type: 'string' }, threshold: { type: 'string' } });
    if (!values.dataset) throw new UsageError('--dataset NAME is required');
    const threshold = intFlag('threshold', values.threshold, 0, 6);
    return withStore(values.store, async (store) => {
      const ds = store.datasets.getByName(values.dataset!);
      if (!ds) throw new UsageError(`no dataset named '${values.dataset}' in ${values.store} (have: ${store.datasets.list().map((d) => d.name).join(', ') || 'none'})`);
      const line = progressLine();
      const r = await findDuplicates(store, ds.id, { threshold, onProgress: line.update });
      line.end();
      console.log(`dataset '${ds.name}': ${r.exact} exact duplicates, ${r.near} near duplicates (pHash ≤ ${threshold} bits) in ${r.groups.length} groups; ${r.hashed} images hashed, ${r.broken} found unreadable; ${r.seconds.toFixed(1)} s`);
      for (const g of r.groups.slice(0, 10)) console.log(`  ${g.kind} keep ${store.items.get(g.keeper).path}: ${g.members.map((m) => store.items.get(m).path).join(', ')}`);
      if (r.groups.length > 10) console.log(`  ... ${r.groups.length - 10} more groups`);
      return 0;
    });
  },
};
