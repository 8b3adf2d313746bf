// A run's dashboard: state and controls, progress with ETA, live loss / usage / metric charts,
// samples, checkpoints, evaluations and "use in chat".
import { useMemo, useState } from 'react';
import type { Sample } from '../../../src-main/contract/api.ts';
import { useApiEvent } from '../../api/events.ts';
import { useAction, useQuery } from '../../api/hooks.ts';
import { useJobs } from '../../api/jobs.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';
import { JobBadge, JobProgress } from '../../components/JobProgress.tsx';
import { LineChart } from '../../components/LineChart.tsx';
import { formatNumber } from '../../lib/format.ts';
import { useNav } from '../../lib/nav.ts';
import { RunExtras } from './RunExtras.tsx';
import { SamplesPanel } from './SamplesPanel.tsx';
import { useRunMetrics } from './useRunMetrics.ts';

export function RunDetail({ id }: { id: number }) {
  const go = useNav();
  const q = useQuery('runs.get', { id });
  const { points, error: metricsError } = useRunMetrics(id);
  const [live, setLive] = useState<Sample[]>([]);
  const run = q.data?.run;
  const { jobs } = useJobs((j) => j.runId === id);
  const job = jobs[0];
  useApiEvent((e) => {
    if (e.type === 'job.sample' && e.runId === id) setLive((s) => [e.sample, ...s].slice(0, 50));
    if (e.type === 'job.state' && e.job.runId === id && !['running', 'queued'].includes(e.job.status)) void q.reload();
  });
  const chat = useAction(async () => {
    const c = await api.call('chats.create', { title: `Chat with run #${id}`, modelId: run!.modelId! });
    go('chat', c.id);
  });
  const series = useMemo(() => {
    const keys = new Set<string>();
    for (const p of points) for (const k of Object.keys(p.values)) keys.add(k);
    const pick = (k: string) => points.filter((p) => p.values[k] != null).map((p) => ({ x: p.step, y: p.values[k]! }));
    const loss = [...keys].filter((k) => /loss/i.test(k));
    const usage = [...keys].filter((k) => /usage|perplexity/i.test(k));
    const other = [...keys].filter((k) => !loss.includes(k) && !usage.includes(k) && !/lr|eta|time|tokens_per|step/i.test(k));
    return { loss: loss.map((k) => ({ name: k, points: pick(k) })), usage: usage.map((k) => ({ name: k, points: pick(k) })), other: other.map((k) => ({ name: k, points: pick(k) })) };
  }, [points]);
  if (q.error) return <div className="view-body"><ErrorView error={q.error} onRetry={q.reload} /></div>;
  if (!run) return <div className="view-body"><span className="spinner" /></div>;
  const samples = [...live, ...(q.data?.samples ?? []).filter((s) => !live.some((l) => l.id === s.id))];
  const latest = points[points.length - 1];
  return (
    <div className="view-body stack run-detail" data-run={id}>
      <div className="row">
        <h2 className="grow">Run #{run.id} · {run.recipe}</h2>
        {!job && <JobBadge status={run.status} />}
        {run.modelId != null && <button className="btn" onClick={() => void chat.run()} disabled={chat.pending}><Icon name="chat" />Use in chat</button>}
      </div>
      {job && <div className="card"><JobProgress job={job} controls unit="steps" /></div>}
      {run.error && <ErrorView error={{ name: 'TrainingFailed', message: run.error }} />}
      {chat.error != null && <ErrorView error={chat.error} />}
      {metricsError != null && <ErrorView error={metricsError} />}
      <div className="chart-grid">
        <div className="card">
          <div className="card-head"><h3>Loss</h3>{latest?.values.loss != null && <span className="mono" data-testid="latest-loss">{formatNumber(latest.values.loss)} @ {latest.step}</span>}</div>
          <LineChart label="Loss" series={series.loss.length ? series.loss : [{ name: 'loss', points: [] }]} />
        </div>
        {series.usage.length > 0 && <div className="card"><div className="card-head"><h3>Codebook usage</h3></div><LineChart label="Codebook usage" series={series.usage.slice(0, 2)} /></div>}
        {series.other.slice(0, 4).map((s) => (
          <div className="card" key={s.name}><div className="card-head"><h3>{s.name}</h3></div><LineChart label={s.name} series={[s]} height={140} /></div>
        ))}
      </div>
      <SamplesPanel samples={samples} />
      <RunExtras run={run} checkpoints={q.data!.checkpoints} evaluations={q.data!.evaluations} datasetId={job?.datasetId ?? null} />
    </div>
  );
}
