// Codebook usage as a hand-written SVG waffle: 256 cells, each standing for 1/256 of the codebook,
// filled for the share of codes the data actually uses (a mostly empty waffle is a collapse), and
// the per-code histogram as a rank plot.
import { useWidth } from '../lib/useWidth.ts';

const COLS = 32;
const ROWS = 8;

export function UsageBar({ distinct, size }: { distinct: number; size: number }) {
  const cells = COLS * ROWS;
  const frac = size > 0 ? distinct / size : 0;
  const filled = Math.round(frac * cells);
  const c = 14;
  const g = 3;
  const W = COLS * (c + g) - g;
  const H = ROWS * (c + g) - g;
  return (
    <figure style={{ margin: 0 }}>
      <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Codebook usage: ${distinct} of ${size} codes`}>
        {Array.from({ length: cells }, (_, i) => (
          <rect key={i} x={(i % COLS) * (c + g)} y={Math.floor(i / COLS) * (c + g)} width={c} height={c} rx={3}
            className={i < filled ? 'bar' : 'unused'} />
        ))}
      </svg>
      <figcaption className="legend">
        <span><i />{distinct.toLocaleString()} of {size.toLocaleString()} codes used ({(100 * frac).toFixed(1)}%)</span>
      </figcaption>
    </figure>
  );
}

/** The per-code histogram sorted from most to least used (a rank plot), binned to the width:
 *  a healthy codebook decays gently; a collapsed one is a few spikes and a long empty tail. */
export function CodebookHistogram({ histogram, height = 140 }: { histogram: number[]; height?: number }) {
  const [ref, W] = useWidth<HTMLElement>();
  const H = height;
  const sorted = [...histogram].sort((a, b) => b - a);
  const bins = Math.max(1, Math.min(sorted.length, Math.floor(W / 3)));
  const per = sorted.length / bins;
  const vals: number[] = [];
  for (let i = 0; i < bins; i++) {
    const a = Math.floor(i * per);
    const b = Math.max(a + 1, Math.floor((i + 1) * per));
    let s = 0;
    for (let j = a; j < b; j++) s += sorted[j];
    vals.push(s / (b - a));
  }
  const max = Math.max(...vals, 1);
  const bw = W / bins;
  const total = histogram.reduce((a, b) => a + b, 0);
  let entropy = 0;
  for (const c of histogram) if (c > 0) { const p = c / total; entropy -= p * Math.log(p); }
  return (
    <figure ref={ref} className="chart-box">
      <svg className="chart" width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Codebook histogram, codes sorted by use">
        <line className="grid" x1={0} x2={W} y1={H - 0.5} y2={H - 0.5} />
        {vals.map((v, i) => v > 0 && (
          <rect key={i} className="bar" x={i * bw} y={H - 1 - Math.max(1, (v / max) * (H - 6))} width={Math.max(bw - 0.5, 0.5)} height={Math.max(1, (v / max) * (H - 6))} />
        ))}
      </svg>
      <figcaption className="legend"><span>codes sorted by use →</span><span>perplexity {Math.exp(entropy).toFixed(1)} of {histogram.length.toLocaleString()}</span></figcaption>
    </figure>
  );
}
