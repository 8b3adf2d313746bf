// A run's metric series, loaded once and then extended incrementally (sinceStep) whenever the run
// reports progress, so the charts move live without re-reading the whole history.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Res } from '../../../src-main/contract/api.ts';
import { useApiEvent } from '../../api/events.ts';
import { api } from '../../api/transport.ts';

export type Point = Res<'runs.metrics'>['points'][number];

export function useRunMetrics(runId: number): { points: Point[]; error: unknown } {
  const [points, setPoints] = useState<Point[]>([]);
  const [error, setError] = useState<unknown>(null);
  const last = useRef(-1);
  const busy = useRef(false);
  const again = useRef(false);
  const pull = useCallback(async () => {
    if (busy.current) { again.current = true; return; }
    busy.current = true;
    try {
      do {
        again.current = false;
        const r = await api.call('runs.metrics', { id: runId, sinceStep: last.current });
        if (r.points.length) {
          last.current = r.points[r.points.length - 1].step;
          setPoints((p) => {
            const from = r.points[0].step;
            return [...p.filter((x) => x.step < from), ...r.points];
          });
        }
        setError(null);
      } while (again.current);
    } catch (e) {
      setError(e);
    } finally {
      busy.current = false;
    }
  }, [runId]);
  useEffect(() => { void pull(); }, [pull]);
  useApiEvent((e) => {
    if ((e.type === 'job.progress' && e.runId === runId) || (e.type === 'job.state' && e.job.runId === runId)) void pull();
  });
  return { points, error };
}
