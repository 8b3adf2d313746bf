// Live jobs: the job list kept current by job.state / job.progress events, so every view can show a
// progress bar with ETA for whatever long action belongs to it.
import { useCallback, useEffect, useState } from 'react';
import type { Job } from '../../src-main/contract/api.ts';
import { useApiEvent } from './events.ts';
import { api } from './transport.ts';

export const ACTIVE = new Set<Job['status']>(['queued', 'running', 'paused']);

export function useJobs(filter?: (j: Job) => boolean): { jobs: Job[]; reload: () => void } {
  const [jobs, setJobs] = useState<Map<number, Job>>(new Map());
  const reload = useCallback(() => {
    void api.call('jobs.list', {}).then((r) => setJobs(new Map(r.jobs.map((j) => [j.id, j]))), () => undefined);
  }, []);
  useEffect(reload, [reload]);
  useApiEvent((e) => {
    if (e.type === 'job.state') setJobs((m) => new Map(m).set(e.job.id, e.job));
    else if (e.type === 'job.progress') {
      setJobs((m) => {
        const j = m.get(e.jobId);
        if (!j) { reload(); return m; }
        return new Map(m).set(e.jobId, { ...j, progress: e.progress, status: j.status === 'queued' ? 'running' : j.status });
      });
    }
  });
  const list = [...jobs.values()].sort((a, b) => b.id - a.id);
  return { jobs: filter ? list.filter(filter) : list, reload };
}
