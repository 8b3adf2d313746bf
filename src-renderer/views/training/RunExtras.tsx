// A run's checkpoints and evaluations, with "evaluate" for a run that produced a model.
import type { Evaluation, Run } from '../../../src-main/contract/api.ts';
import { formatBytes, formatDate } from '../../lib/format.ts';
import { Evaluations } from './Evaluations.tsx';

interface Checkpoint { id: number; step: number; path: string; bytes: number; createdAt: number }

/** datasetId: the dataset the run trained on (its job's), the default for evaluation. */
export function RunExtras({ run, checkpoints, evaluations, datasetId }: { run: Run; checkpoints: Checkpoint[]; evaluations: Evaluation[]; datasetId: number | null }) {
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
        <div className="card-head"><h3>Evaluations</h3><span className="faint">{evaluations.length || ''}</span></div>
        {run.modelId != null
          ? <Evaluations modelId={run.modelId} runId={run.id} defaultDatasetId={datasetId} />
          : <p className="faint">{evaluations.length ? `${evaluations.length} evaluations.` : 'Evaluation becomes possible once the run has produced a model.'}</p>}
      </div>
    </div>
  );
}
