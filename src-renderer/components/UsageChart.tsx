// Codebook usage as a hand-written SVG waffle: 256 cells, each standing for 1/256 of the codebook,
// filled for the share of codes the data actually uses. A mostly empty waffle is a collapse.

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
