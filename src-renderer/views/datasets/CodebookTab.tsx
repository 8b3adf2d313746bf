// Tokenize the dataset with an installed tokenizer (a job with progress) and show how much of the
// codebook the data uses: a collapsed codebook shows as a small used share. The chart reloads when
// a tokenize job of this dataset finishes.
import { useState } from 'react';
import { useApiEvent } from '../../api/events.ts';
import { useAction, useQuery } from '../../api/hooks.ts';
import { useJobs } from '../../api/jobs.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { JobProgress } from '../../components/JobProgress.tsx';
import { CodebookHistogram, UsageBar } from '../../components/UsageChart.tsx';

export function CodebookTab({ datasetId }: { datasetId: number }) {
  const models = useQuery('models.list', {});
  const tokenizers = (models.data?.models ?? []).filter((m) => m.kind !== 'lm');
  const [modelId, setModelId] = useState<number | null>(null);
  const mid = modelId ?? tokenizers[0]?.id ?? null;
  const usage = useQuery('datasets.codebookUsage', mid ? { datasetId, modelId: mid } : null);
  const { jobs } = useJobs((j) => j.kind === 'tokenize' && j.datasetId === datasetId);
  const start = useAction(async () => { await api.call('datasets.tokenize', { datasetId, modelId: mid! }); });
  const last = jobs[0];
  useApiEvent((e) => {
    if (e.type === 'job.state' && e.job.kind === 'tokenize' && e.job.datasetId === datasetId && e.job.status === 'done') void usage.reload();
  });
  const busy = last?.status === 'running' || last?.status === 'queued';
  return (
    <div className="view-body stack" style={{ maxWidth: 760 }}>
      {models.error != null && <ErrorView error={models.error} onRetry={models.reload} />}
      {tokenizers.length === 0 && !models.loading
        ? <div className="empty"><h2>No tokenizer installed</h2><p>Tokenizing needs an image tokenizer or a unified model. Import one in Models, or train one in Training.</p></div>
        : (
          <div className="card stack">
            <div className="row">
              <label htmlFor="tok-model">Tokenizer</label>
              <select id="tok-model" value={mid ?? ''} onChange={(e) => setModelId(Number(e.target.value))}>
                {tokenizers.map((m) => <option key={m.id} value={m.id}>{m.name}</option>)}
              </select>
              <span className="grow" />
              <button className="btn primary" disabled={!mid || start.pending || busy} onClick={() => void start.run()}>Tokenize dataset</button>
            </div>
            {last && <JobProgress job={last} controls unit="items" />}
            {start.error != null && <ErrorView error={start.error} />}
          </div>
        )}
      {usage.data && usage.data.items > 0 && (
        <div className="card stack">
          <h3>Codebook usage</h3>
          <UsageBar distinct={usage.data.distinct} size={usage.data.codebookSize} />
          {usage.data.histogram.length > 0 && <CodebookHistogram histogram={usage.data.histogram} />}
          <p className="faint">{usage.data.items.toLocaleString()} items, {usage.data.codes.toLocaleString()} codes cached with {usage.data.tokenizerId}.
            {usage.data.codes < 4 * usage.data.codebookSize
              ? ` Too few codes to judge the codebook's health (a fair sample has several codes per entry: ${(4 * usage.data.codebookSize).toLocaleString()} or more).`
              : usage.data.fraction < 0.2 ? ' Under 20% of the codebook is in use: the tokenizer may have collapsed.' : ''}</p>
        </div>
      )}
      {usage.data && usage.data.items === 0 && !busy && (
        <p className="faint">No codes cached for this dataset with this tokenizer yet: tokenize it to see how much of the codebook it uses.</p>
      )}
      {usage.error != null && mid && <ErrorView error={usage.error} onRetry={usage.reload} />}
    </div>
  );
}
