// Evaluation results of a model (optionally of one run) and "Evaluate": pick a dataset, a split and
// how many images, start an evaluate job (runs.evaluate), follow it with a progress bar and ETA,
// and list the measured numbers when it is done. A backend that cannot evaluate says so in a sentence.
import { useState } from 'react';
import { SPLITS, type Evaluation } from '../../../src-main/contract/api.ts';
import { useApiEvent } from '../../api/events.ts';
import { useAction, useQuery } from '../../api/hooks.ts';
import { useJobs } from '../../api/jobs.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';
import { JobProgress } from '../../components/JobProgress.tsx';
import { formatDate, formatNumber } from '../../lib/format.ts';

type Split = (typeof SPLITS)[number];

const isUnavailable = (e: unknown) => !!e && typeof e === 'object' && (e as { name?: string }).name === 'UnavailableError';

export function Evaluations({ modelId, runId, defaultDatasetId }: { modelId: number; runId?: number; defaultDatasetId?: number | null }) {
  const list = useQuery('evaluations.list', runId != null ? { runId } : { modelId });
  const datasets = useQuery('datasets.list', {});
  const [datasetId, setDatasetId] = useState<number | null>(null);
  const [split, setSplit] = useState<Split>('test');
  const [limit, setLimit] = useState(64);
  const [jobId, setJobId] = useState<number | null>(null);
  const { jobs } = useJobs((j) => j.id === jobId);
  const ds = datasets.data?.datasets ?? [];
  const dsId = datasetId ?? defaultDatasetId ?? ds[0]?.id ?? null;
  const evaluate = useAction(async () => {
    const r = await api.call('runs.evaluate', { modelId, runId, datasetId: dsId ?? undefined, split, limit });
    setJobId(r.job.id);
  });
  useApiEvent((e) => {
    if (e.type === 'job.state' && e.job.kind === 'evaluate' && (e.job.id === jobId || (runId != null && e.job.runId === runId)) && !['queued', 'running'].includes(e.job.status)) void list.reload();
  });
  const job = jobs[0];
  const evaluations: Evaluation[] = list.data?.evaluations ?? [];
  const dsName = (id: number | null) => (id == null ? '—' : ds.find((d) => d.id === id)?.name ?? `#${id}`);
  const running = job && (job.status === 'queued' || job.status === 'running');
  return (
    <div className="stack evaluations" data-evaluations={runId ?? modelId}>
      {list.error != null && <ErrorView error={list.error} onRetry={list.reload} />}
      {evaluations.length === 0
        ? <p className="faint">No evaluations yet{runId != null ? ' for this run' : ''}.</p>
        : evaluations.slice(0, 6).map((e) => (
          <div key={e.id} className="eval-entry" data-evaluation={e.id}>
            <div className="row"><strong className="grow" data-testid="eval-dataset">{dsName(e.datasetId)}</strong><span className="badge neutral">{e.split ?? '—'}</span><span className="faint">{formatDate(e.createdAt)}</span></div>
            <dl className="metrics" aria-label="Measured metrics">
              {Object.entries(e.metrics).filter(([, v]) => typeof v === 'number').map(([k, v]) => (
                <div key={k}><dt title={k}>{k.replace(/_/g, ' ')}</dt><dd>{formatNumber(v as number)}</dd></div>
              ))}
            </dl>
          </div>
        ))}
      {evaluations.length > 6 && <p className="faint">and {evaluations.length - 6} earlier evaluations.</p>}
      <form className="row" onSubmit={(e) => { e.preventDefault(); void evaluate.run(); }}>
        <select aria-label="Evaluation dataset" value={dsId ?? ''} onChange={(e) => setDatasetId(e.target.value ? Number(e.target.value) : null)}>
          {ds.length === 0 && <option value="">No dataset: import one first</option>}
          {ds.map((d) => <option key={d.id} value={d.id}>{d.name}</option>)}
        </select>
        <select aria-label="Evaluation split" value={split} onChange={(e) => setSplit(e.target.value as Split)}>
          {SPLITS.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
        <input type="number" aria-label="Images to evaluate" title="At most this many images of the split" min={1} max={100000} value={limit}
          onChange={(e) => setLimit(Math.max(1, Math.min(100_000, Math.floor(+e.target.value) || 1)))} className="eval-limit" />
        <button className="btn" type="submit" disabled={evaluate.pending || !!running || dsId == null}><Icon name="check" />Evaluate</button>
      </form>
      {job && <JobProgress job={job} controls unit="items" />}
      {evaluate.error != null && (isUnavailable(evaluate.error)
        ? (
          <div className="alert info" role="status">
            <div className="alert-title">Evaluation is not available in this version of Tessera.</div>
            <div className="muted">{(evaluate.error as Error).message}</div>
          </div>
        )
        : <ErrorView error={evaluate.error} />)}
    </div>
  );
}
