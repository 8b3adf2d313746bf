// `tessera data export`: writes a dataset (or one split of it) as an HF imagefolder: images plus
// metadata.jsonl (file_name, text, tags, split), into a temp folder renamed into place when whole.
import { exportImagefolder } from '../../backend/datasets/index.ts';
import { SPLITS, type Split } from '../../backend/store/index.ts';
import { parseFlags, UsageError, type Command } from '../command.ts';
import { progressLine, withStore } from './data-import.ts';

export const dataExport: Command = {
  name: 'data export',
  summary: 'Export a dataset as an HF imagefolder (images + metadata.jsonl)',
  usage: 'data export --store FILE --dataset NAME --out DIR [--split train|validation|test] [--include-duplicates] [--overwrite]',
  async run(argv) {
    const { values } = parseFlags(argv, {
      store: { type: 'string' }, dataset: { type: 'string' }, out: { type: 'string' }, split: { type: 'string' },
      'include-duplicates': { type: 'boolean' }, overwrite: { type: 'boolean' },
    });
    if (!values.dataset) throw new UsageError('--dataset NAME is required');
    if (!values.out) throw new UsageError('--out DIR is required');
    if (values.split !== undefined && !(SPLITS as readonly string[]).includes(values.split)) throw new UsageError(`--split must be one of ${SPLITS.join(', ')}, got '${values.split}'`);
    return withStore(values.store, async (store) => {
      const ds = store.datasets.getByName(values.dataset!);
      if (!ds) throw new UsageError(`no dataset named '${values.dataset}' in ${values.store}`);
      const line = progressLine();
      const r = await exportImagefolder(store, ds.id, values.out!, {
        filter: values.split ? { split: values.split as Split } : {},
        includeDuplicates: values['include-duplicates'], overwrite: values.overwrite, onProgress: line.update,
      });
      line.end();
      console.log(`exported ${r.exported} images of '${ds.name}' to ${r.outDir} in ${r.seconds.toFixed(1)} s`);
      for (const m of r.missing.slice(0, 10)) console.log(`  ${m.reason}`);
      if (r.missing.length) console.log(`  ${r.missing.length} items not exported: their files are missing`);
      return r.missing.length ? 1 : 0;
    });
  },
};
