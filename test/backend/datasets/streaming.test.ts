// Streaming: importing 2,500 files (~10 KB each, ~25 MB in all) keeps the process's JS heap plus
// buffer memory far below the data's size, and reports the import rate on this machine.
import { describe, expect, it } from 'vitest';
import { importDataset } from '../../../src-main/backend/datasets/index.ts';
import { checkAndClose, freshStore, tempDir, writeManyPngs } from './helpers.ts';

const N = 2500;
const PAD = 10_000;

describe('streaming import', () => {
  it(`imports ${N} files with bounded memory`, async () => {
    const root = tempDir();
    await writeManyPngs(root, N, 20, PAD);
    const { store } = await freshStore();
    const mem = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
    const base = mem();
    let peak = base, reports = 0;
    const s = await importDataset(store, { kind: 'folder', path: root, name: 'many' }, {
      onProgress: () => { peak = Math.max(peak, mem()); reports++; },
      onCommit: () => { peak = Math.max(peak, mem()); },
    });
    expect(s).toMatchObject({ seen: N, imported: N, bad: 0 });
    expect(store.items.stats(s.datasetId).total).toBe(N);
    const grew = (peak - base) / 2 ** 20, data = (N * PAD) / 2 ** 20;
    console.log(`streaming: ${N} files (${data.toFixed(0)} MB) in ${s.seconds.toFixed(2)} s = ${(N / s.seconds).toFixed(0)} images/s; heap+buffers grew at most ${grew.toFixed(1)} MB over ${reports} progress reports`);
    expect(reports).toBeGreaterThanOrEqual(N / 500);
    expect(grew).toBeLessThan(data / 3);
    checkAndClose(store);
  });
});
