// Training bookkeeping: the run state machine (every legal and illegal transition), metrics upsert
// and since-step listing with non-finite values, models with cards, and evaluations.
import { describe, expect, it } from 'vitest';
import { IllegalRunTransitionError, RUN_STATUSES, RUN_TRANSITIONS, type RunStatus } from '../../src-main/backend/store/index.ts';
import { checkAndClose, freshStore } from './helpers.ts';

describe('runs', () => {
  it('follows the state machine and names both states on an illegal transition', async () => {
    const { store } = await freshStore();
    const run = store.runs.create({ kind: 'unified', recipe: 'unicode-stage1', config: { lambda: 0.9, every: 100 } });
    expect(run).toMatchObject({ status: 'queued', error: null, config: { lambda: 0.9, every: 100 } });
    const path: RunStatus[] = ['running', 'paused', 'running', 'paused', 'running', 'done'];
    for (const s of path) expect(store.runs.setStatus(run.id, s).status).toBe(s);
    expect(() => store.runs.setStatus(run.id, 'running')).toThrow(`run ${run.id}: illegal status transition done -> running (from done the run may go to nothing: it is final)`);

    const r2 = store.runs.create({ kind: 'lm', recipe: 'r', config: {} });
    expect(() => store.runs.setStatus(r2.id, 'paused')).toThrow(IllegalRunTransitionError);
    expect(() => store.runs.setStatus(r2.id, 'done')).toThrow('illegal status transition queued -> done (from queued the run may go to running, failed, cancelled)');
    expect(() => store.runs.setStatus(r2.id, 'failed')).toThrow("runs.setStatus: error: a message is required when status is 'failed'");
    expect(() => store.runs.setStatus(r2.id, 'weird' as RunStatus)).toThrow(/runs\.setStatus: status: Invalid option/);
    store.runs.setStatus(r2.id, 'running');
    const failed = store.runs.setStatus(r2.id, 'failed', 'loss became NaN at step 120');
    expect(failed).toMatchObject({ status: 'failed', error: 'loss became NaN at step 120' });
    expect(failed.updatedAt).toBeGreaterThanOrEqual(failed.createdAt);

    // exhaustively: a transition succeeds exactly when the table allows it
    for (const from of RUN_STATUSES) {
      for (const to of RUN_STATUSES) {
        const r = store.runs.create({ kind: 'lm', recipe: 'r', config: {} });
        const route: Record<RunStatus, RunStatus[]> = { queued: [], running: ['running'], paused: ['running', 'paused'], done: ['running', 'done'], failed: ['failed'], cancelled: ['cancelled'] };
        for (const s of route[from]) store.runs.setStatus(r.id, s, s === 'failed' ? 'x' : undefined);
        expect(store.runs.get(r.id).status).toBe(from);
        const go = () => store.runs.setStatus(r.id, to, to === 'failed' ? 'x' : undefined);
        if (RUN_TRANSITIONS[from].includes(to)) expect(go().status).toBe(to);
        else expect(go).toThrow(`illegal status transition ${from} -> ${to}`);
      }
    }
    expect(store.runs.list({ status: 'failed' }).map((r) => r.id)).toContain(r2.id);
    checkAndClose(store);
  });

  it('upserts metrics per step and lists them since a step, keeping NaN and Infinity', async () => {
    const { store } = await freshStore();
    const run = store.runs.create({ kind: 'lm', recipe: 'r', config: {} });
    for (let step = 0; step < 10; step++) store.metrics.append(run.id, step, { loss: 10 - step, lr: 1e-3 });
    // a resumed run re-logs steps 8 and 9: they are replaced, not duplicated
    store.metrics.appendMany(run.id, [{ step: 8, values: { loss: 1.5, lr: 5e-4 } }, { step: 9, values: { loss: NaN, grad: Infinity, acc: null } }]);
    const all = store.metrics.list(run.id);
    expect(all.map((m) => m.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(all[8].values).toEqual({ loss: 1.5, lr: 5e-4 });
    expect(all[9].values.loss).toBeNaN();
    expect(all[9].values.grad).toBe(Infinity);
    expect(all[9].values.acc).toBeNull();
    expect(store.metrics.list(run.id, { sinceStep: 6 }).map((m) => m.step)).toEqual([7, 8, 9]);
    expect(store.metrics.list(run.id, { sinceStep: 2, limit: 2 }).map((m) => m.step)).toEqual([3, 4]);
    expect(store.metrics.lastStep(run.id)).toBe(9);
    expect(() => store.metrics.append(run.id, -1, { loss: 1 })).toThrow('metrics.append: step: expected an integer >= 0 (got -1)');
    expect(() => store.metrics.append(run.id, 1, { loss: '1' as any })).toThrow(`metrics.append: values.loss: expected a number (NaN and Infinity allowed) or null (got "1")`);
    expect(() => store.metrics.append(999, 1, { loss: 1 })).toThrow('metrics.append: runId: run 999 does not exist');
    store.runs.delete(run.id);
    expect(store.metrics.list(run.id)).toEqual([]);
    checkAndClose(store);
  });

  it('stores models with cards and their evaluations', async () => {
    const { store } = await freshStore();
    const m = store.models.create({ name: 'emoji-unified-s', kind: 'unified', dir: '/models/emoji', card: { params: 12_000_000 } });
    expect(store.models.getByName('emoji-unified-s')?.card).toEqual({ params: 12_000_000 });
    expect(() => store.models.create({ name: 'emoji-unified-s', kind: 'lm', dir: '/x' })).toThrow('models.create: name: a model named "emoji-unified-s" already exists');
    expect(() => store.models.create({ name: 'x', kind: 'vision' as any, dir: '/x' })).toThrow(/models\.create: kind: Invalid option/);
    store.models.updateCard(m.id, { params: 12_000_000, fid: 31.2 });
    const ds = store.datasets.create({ name: 'emoji', sourceKind: 'emoji', rootPath: '/e' });
    const run = store.runs.create({ kind: 'unified', recipe: 'r', config: {}, modelId: m.id });
    const ev = store.evaluations.add({ modelId: m.id, runId: run.id, datasetId: ds.id, split: 'test', metrics: { psnr: 24.1, usage: 0.83 } });
    expect(ev).toMatchObject({ modelId: m.id, runId: run.id, datasetId: ds.id, split: 'test', metrics: { psnr: 24.1, usage: 0.83 } });
    expect(() => store.evaluations.add({ modelId: 77, metrics: {} })).toThrow('evaluations.add: modelId: model 77 does not exist');
    expect(store.evaluations.list({ modelId: m.id }).length).toBe(1);
    // deleting the run keeps the evaluation (run_id -> null); deleting the model removes it
    store.runs.delete(run.id);
    expect(store.evaluations.list({ modelId: m.id })[0].runId).toBeNull();
    store.datasets.delete(ds.id);
    expect(store.evaluations.list()[0].datasetId).toBeNull();
    store.models.delete(m.id);
    expect(store.evaluations.list()).toEqual([]);
    checkAndClose(store);
  });
});
