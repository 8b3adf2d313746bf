// Training: runs on the left (live status), and either the recipe picker (new run) or a run's
// dashboard on the right.
import { useRef } from 'react';
import { useApiEvent } from '../../api/events.ts';
import { useQuery } from '../../api/hooks.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';
import { JobBadge } from '../../components/JobProgress.tsx';
import { formatDate, formatNumber } from '../../lib/format.ts';
import { useNav } from '../../lib/nav.ts';
import { NewRun } from './NewRun.tsx';
import { RunDetail } from './RunDetail.tsx';
import './training.css';

export function TrainingView({ arg }: { arg: string | null }) {
  const go = useNav();
  const runs = useQuery('runs.list', {});
  const timer = useRef<number | null>(null);
  useApiEvent((e) => {
    if ((e.type === 'job.state' && e.job.kind === 'train') || (e.type === 'job.progress' && e.runId !== null)) {
      if (timer.current == null) timer.current = window.setTimeout(() => { timer.current = null; void runs.reload(); }, 1000);
    }
  });
  const list = runs.data?.runs ?? [];
  const selected = arg && arg !== 'new' ? Number(arg) : arg === null ? list[0]?.id ?? null : null;
  const showNew = arg === 'new' || (selected == null && list.length === 0 && !runs.loading);
  return (
    <section className="view" aria-label="Training">
      <header className="view-head">
        <h1>Training</h1>
        <p>Pick a recipe, press Train, watch it learn.</p>
        <span className="spacer" />
        <button className="btn primary" onClick={() => go('training', 'new')}><Icon name="plus" />New training</button>
      </header>
      <div className="split">
        <div className="pane-list" role="listbox" aria-label="Training runs">
          {runs.error != null && <ErrorView error={runs.error} onRetry={runs.reload} />}
          {list.length === 0 && !runs.loading && <p className="faint" style={{ padding: 8 }}>No runs yet.</p>}
          {list.map((r) => (
            <button key={r.id} role="option" className="list-item" aria-selected={r.id === selected} onClick={() => go('training', r.id)} data-run={r.id}>
              <span className="row"><span className="title grow">#{r.id} {r.recipe}</span><JobBadge status={r.status} /></span>
              <span className="sub">
                {r.lastStep != null ? `step ${r.lastStep}` : r.status === 'queued' ? 'waiting for its turn' : r.status === 'running' ? 'starting' : 'no steps'}
                {r.lastMetrics?.loss != null ? ` · loss ${formatNumber(r.lastMetrics.loss)}` : ''} · {formatDate(r.createdAt)}
              </span>
            </button>
          ))}
        </div>
        <div className="pane-main">
          {showNew
            ? <NewRun onStarted={(id) => { void runs.reload(); go('training', id); }} />
            : selected != null
              ? <RunDetail key={selected} id={selected} />
              : <div className="empty"><h2>Pick a run</h2><p>Choose a run on the left, or start a new training.</p></div>}
        </div>
      </div>
    </section>
  );
}
