// The jobs table (schema v6): the state machine, FIFO order, attempts, progress with a diverged
// loss, samples; and that a v5 store migrates to v6 keeping its rows.
import { describe, expect, it } from 'vitest';
import { IllegalJobTransitionError, openStore, SCHEMA_VERSION } from '../../../src-main/backend/store/index.ts';
import { freshStore } from '../../store/helpers.ts';

describe('jobs repo', () => {
  it('follows the state machine, keeps FIFO order and counts attempts', async () => {
    const { store } = await freshStore();
    const a = store.jobs.create({ kind: 'train', title: 'a', params: { steps: 3 } });
    const b = store.jobs.create({ kind: 'import', title: 'b', params: {} });
    expect(store.jobs.queue().map((j) => j.id)).toEqual([a.id, b.id]);
    expect(store.jobs.setStatus(a.id, 'running').attempts).toBe(1);
    expect(() => store.jobs.setStatus(a.id, 'running')).toThrow(IllegalJobTransitionError);
    expect(() => store.jobs.setStatus(a.id, 'running')).toThrow(`job ${a.id} is running and cannot become running`);
    store.jobs.setStatus(a.id, 'paused');
    store.jobs.setStatus(a.id, 'queued'); // resume: to the back of the queue
    expect(store.jobs.queue().map((j) => j.id)).toEqual([b.id, a.id]);
    store.jobs.setStatus(b.id, 'running');
    store.jobs.setStatus(b.id, 'queued'); // crash recovery keeps its place
    expect(store.jobs.queue().map((j) => j.id)).toEqual([b.id, a.id]);
    expect(() => store.jobs.setStatus(b.id, 'failed')).toThrow("jobs.setStatus: error: a message is required when status is 'failed'");
    store.jobs.setStatus(b.id, 'running');
    const done = store.jobs.setStatus(b.id, 'done', { result: { items: 4 } });
    expect(done).toMatchObject({ status: 'done', attempts: 2, result: { items: 4 } });
    expect(() => store.jobs.setStatus(b.id, 'cancelled')).toThrow('it may go to nothing: it is finished');
  });

  it('stores progress (a NaN loss as null) and samples', async () => {
    const { store } = await freshStore();
    const run = store.runs.create({ kind: 'train', recipe: 'classifier', config: {} });
    const j = store.jobs.create({ kind: 'train', title: 't', params: {}, runId: run.id });
    store.jobs.setProgress(j.id, { step: 3, total: 9, loss: Number.NaN });
    expect(store.jobs.get(j.id).progress).toEqual({ step: 3, total: 9, loss: null });
    store.jobs.addSample({ jobId: j.id, runId: run.id, step: 3, kind: 'text', text: 'predicted Bag' });
    expect(() => store.jobs.addSample({ jobId: j.id, step: 3, kind: 'image', text: 'x' })).toThrow('samples.add: kind: a text sample needs `text`');
    expect(store.jobs.samples({ runId: run.id }).map((s) => s.text)).toEqual(['predicted Bag']);
    expect(store.jobs.byRun(run.id)?.id).toBe(j.id);
    expect(store.integrityCheck()).toBe('ok');
  });

  it('migrates a v5 store to v6 with its rows', async () => {
    const { store, path } = await freshStore({ targetVersion: 5 });
    store.runs.create({ kind: 'train', recipe: 'x', config: { a: 1 } });
    store.close();
    const s = await openStore(path);
    expect(s.schemaVersion).toBe(SCHEMA_VERSION);
    expect(s.migration.from).toBe(5);
    expect(s.runs.list()).toHaveLength(1);
    expect(s.jobs.create({ kind: 'evaluate', title: 'e', params: {} }).status).toBe('queued');
    expect(s.integrityCheck()).toBe('ok');
    s.close();
  });
});
