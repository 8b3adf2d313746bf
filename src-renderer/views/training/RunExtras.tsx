// A run's checkpoints and evaluations, with "evaluate" for a run that produced a model.
import { useState } from 'react';
import { SPLITS, type Evaluation, type Run } from '../../../src-main/contract/api.ts';
import { useAction, useQuery } from '../../api/hooks.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { formatBytes, formatDate, formatNumber } from '../../lib/format.ts';

interface Checkpoint { id: number; step: number; path: string; bytes: number; createdAt: number }

export function RunExtras({ run, checkpoints, evaluations, onChanged }: { run: Run; checkpoints: Checkpoint[]; evaluations: Evaluation[]; onChanged: () => void }) {
  const datasets = useQuery('datasets.list', run.modelId != null ? {} : null);
  const [datasetId, setDatasetId] = useState<number | null>(null);
  const [split, setSplit] = useState<(typeof SPLITS)[number]>('test');
  const evaluate = useAction(async () => {
    await api.call('runs.evaluate', { modelId: run.modelId!, runId: run.id, datasetId: datasetId ?? undefined, split });
    onChanged();
  });
  const keys = [...new Set(evaluations.flatMap((e) => Object.keys(e.metrics)))].slice(0, 6);
  return (
    <div className="chart-grid">
      <div className="card">
        <div className="card-head"><h3>Checkpoints</h3><span className="faint">{checkpoints.length}</span></div>
        {checkpoints.length === 0 ? <p className="faint">None yet: a checkpoint is written every few steps and on pause.</p> : (
          <table className="table"><thead><tr><th>Step</th><th>Size</th><th>Saved</th></tr></thead>
            <tbody>{checkpoints.slice(-8).reverse().map((c) => <tr key={c.id} title={c.path}><td>{c.step}</td><td>{formatBytes(c.bytes)}</td><td>{formatDate(c.createdAt)}</td></tr>)}</tbody></table>
        )}
      </div>
      <div className="card stack">
        <div className="card-head"><h3>Evaluations</h3></div>
        {evaluations.length === 0 ? <p className="faint">No evaluations yet.</p> : (
          <table className="table"><thead><tr><th>Split</th>{keys.map((k) => <th key={k}>{k}</th>)}</tr></thead>
            <tbody>{evaluations.map((e) => <tr key={e.id}><td>{e.split ?? '—'}</td>{keys.map((k) => <td key={k}>{typeof e.metrics[k] === 'number' ? formatNumber(e.metrics[k] as number) : String(e.metrics[k] ?? '—')}</td>)}</tr>)}</tbody></table>
        )}
        {run.modelId != null && (
          <div className="row">
            <select aria-label="Evaluation dataset" value={datasetId ?? ''} onChange={(e) => setDatasetId(e.target.value ? Number(e.target.value) : null)}>
              <option value="">Training dataset</option>
              {(datasets.data?.datasets ?? []).map((d) => <option key={d.id} value={d.id}>{d.name}</option>)}
            </select>
            <select aria-label="Evaluation split" value={split} onChange={(e) => setSplit(e.target.value as typeof split)}>
              {SPLITS.map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
            <button className="btn" disabled={evaluate.pending} onClick={() => void evaluate.run()}>Evaluate</button>
          </div>
        )}
        {evaluate.error != null && <ErrorView error={evaluate.error} />}
      </div>
    </div>
  );
}
