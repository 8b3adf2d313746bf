// A hand-written SVG line chart for training curves: one or two series over steps, nice axis ticks,
// the latest value labelled. Drawn at the element's real width; downsamples to ~600 points so long
// runs stay cheap to draw.
import { useWidth } from '../lib/useWidth.ts';

export interface Series { name: string; points: { x: number; y: number }[] }

function niceTicks(min: number, max: number, count: number): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function downsample(pts: { x: number; y: number }[], n: number): { x: number; y: number }[] {
  if (pts.length <= n) return pts;
  const stride = pts.length / n;
  const out: { x: number; y: number }[] = [];
  for (let i = 0; i < n; i++) out.push(pts[Math.floor(i * stride)]);
  out.push(pts[pts.length - 1]);
  return out;
}

const fmt = (v: number) => (Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toPrecision(3)}`);

export function LineChart({ series, height = 180, label, yLabel }: { series: Series[]; height?: number; label: string; yLabel?: string }) {
  const [ref, W] = useWidth<HTMLElement>();
  const H = height;
  const pad = { l: 44, r: 14, t: 10, b: 24 };
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  if (all.length === 0) {
    return <figure ref={ref} className="chart-box" aria-label={label}><div className="empty" style={{ minHeight: H }}><p className="faint">Waiting for the first steps…</p></div></figure>;
  }
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
  const span = y1 - y0;
  y0 -= span * 0.05; y1 += span * 0.05;
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const sy = (y: number) => pad.t + (1 - (y - y0) / (y1 - y0)) * (H - pad.t - pad.b);
  const last = series[0]?.points[series[0].points.length - 1];
  return (
    <figure ref={ref} className="chart-box">
      <svg className="chart" width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-points={all.length}>
        {niceTicks(y0, y1, 4).map((t) => (
          <g key={`y${t}`}>
            <line className="grid" x1={pad.l} x2={W - pad.r} y1={sy(t)} y2={sy(t)} />
            <text className="axis" x={pad.l - 6} y={sy(t) + 3.5} textAnchor="end">{fmt(t)}</text>
          </g>
        ))}
        {niceTicks(x0, x1, Math.max(2, Math.floor(W / 110))).map((t) => (
          <text key={`x${t}`} className="axis" x={sx(t)} y={H - 6} textAnchor="middle">{fmt(t)}</text>
        ))}
        {series.map((s, i) => {
          const pts = downsample(s.points.filter((p) => Number.isFinite(p.y)), 600);
          const d = pts.map((p, j) => `${j ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join('');
          return <path key={s.name} className={`line${i ? ' s2' : ''}`} d={d} />;
        })}
        {last && <circle cx={sx(last.x)} cy={sy(last.y)} r={3} fill="var(--chart-1)" />}
        {yLabel && <text className="axis" x={4} y={pad.t + 2} dominantBaseline="hanging">{yLabel}</text>}
      </svg>
      {series.length > 1 && (
        <figcaption className="legend">
          {series.map((s, i) => <span key={s.name}><i className={i ? 's2' : ''} />{s.name}</span>)}
        </figcaption>
      )}
    </figure>
  );
}
