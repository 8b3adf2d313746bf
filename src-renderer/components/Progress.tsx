// A progress bar with a label, counts and an ETA (estimated from the rate of updates unless the
// job reports its own). Indeterminate when the total is unknown.
import { useMemo, useRef } from 'react';
import { EtaEstimator } from '../lib/eta.ts';
import { formatDuration, percent } from '../lib/format.ts';

export interface ProgressProps {
  label: string;
  done: number;
  total?: number | null;
  /** Seconds left as reported by the job; estimated here when absent. */
  eta?: number | null;
  unit?: string;
}

export function Progress({ label, done, total, eta, unit = '' }: ProgressProps) {
  const est = useRef(new EtaEstimator());
  const known = total != null && total > 0;
  const left = useMemo(
    () => (eta != null ? eta : known ? est.current.update(done, total!) : NaN),
    [done, total, eta, known],
  );
  const pct = known ? percent(done, total!) : 0;
  return (
    <div className="progress" data-indeterminate={!known} role="progressbar" aria-label={label}
      aria-valuemin={0} aria-valuemax={known ? total! : undefined} aria-valuenow={known ? done : undefined}>
      <div className="progress-meta">
        <span>{label}</span>
        <span>
          {known ? `${done.toLocaleString()} / ${total!.toLocaleString()}${unit ? ' ' + unit : ''} · ${Math.floor(pct)}%` : `${done.toLocaleString()}${unit ? ' ' + unit : ''}`}
          {known && done < total! ? ` · ETA ${formatDuration(left)}` : ''}
        </span>
      </div>
      <div className="progress-track"><div className="progress-fill" style={{ width: `${pct}%` }} /></div>
    </div>
  );
}
