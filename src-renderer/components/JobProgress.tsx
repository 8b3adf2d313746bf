// A job's live progress: its phase, a bar with ETA, its state, and pause / resume / cancel.
import type { Job } from '../../src-main/contract/api.ts';
import { useAction } from '../api/hooks.ts';
import { api } from '../api/transport.ts';
import { ErrorView } from './ErrorView.tsx';
import { Icon } from './Icon.tsx';
import { Progress } from './Progress.tsx';

const tone: Record<Job['status'], string> = {
  queued: 'neutral', running: 'info', paused: 'warn', done: 'ok', failed: 'danger', cancelled: 'neutral',
};

export function JobBadge({ status }: { status: Job['status'] }) {
  return <span className={`badge ${tone[status]}`} data-status={status}>{status}</span>;
}

export function JobProgress({ job, controls = false, unit }: { job: Job; controls?: boolean; unit?: string }) {
  const act = useAction((m: 'jobs.pause' | 'jobs.resume' | 'jobs.cancel') => api.call(m, { id: job.id }));
  const p = job.progress;
  const live = job.status === 'running' || job.status === 'queued' || job.status === 'paused';
  return (
    <div className="stack job-progress" data-job={job.id}>
      <div className="row">
        <JobBadge status={job.status} />
        <span className="grow">{job.title}</span>
        {controls && job.status === 'running' && <button className="btn small" disabled={act.pending} onClick={() => act.run('jobs.pause')}><Icon name="pause" />Pause</button>}
        {controls && job.status === 'paused' && <button className="btn small" disabled={act.pending} onClick={() => act.run('jobs.resume')}><Icon name="play" />Resume</button>}
        {controls && live && <button className="btn small danger" disabled={act.pending} onClick={() => act.run('jobs.cancel')}><Icon name="x" />Cancel</button>}
      </div>
      {live && (
        <Progress label={job.status === 'queued' ? 'Waiting for the previous job' : job.status === 'paused' ? `Paused · ${p?.phase ?? ''}` : p?.phase ?? 'Starting'}
          done={p?.step ?? 0} total={p && p.total > 0 ? p.total : null} eta={job.status === 'running' ? p?.etaSeconds : null} unit={unit} />
      )}
      {job.status === 'failed' && job.error && <ErrorView error={{ name: 'JobFailed', message: job.error }} />}
      {act.error != null && <ErrorView error={act.error} />}
    </div>
  );
}
