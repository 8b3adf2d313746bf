// A windowed grid: only the rows in (and just around) the viewport are in the DOM, positioned in a
// spacer as tall as all rows, so 100k items scroll as smoothly as 100. Columns follow the width.
// The owner loads data for the visible range (onRange) and renders each cell (or a placeholder);
// `scrolling` is true while the user scrolls fast, so cells can hold back expensive content (image
// requests would otherwise queue up for rows that are already gone).
import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';

export interface VirtualGridProps {
  count: number;
  minCellWidth: number;
  /** Cell height for a given cell width (e.g. square image + caption). */
  cellHeight: (cellWidth: number) => number;
  gap?: number;
  overscanRows?: number;
  render: (index: number, scrolling: boolean) => ReactNode;
  onRange?: (start: number, end: number) => void;
  label: string;
}

export function VirtualGrid({ count, minCellWidth, cellHeight, gap = 10, overscanRows = 3, render, onRange, label }: VirtualGridProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ w: 0, h: 0 });
  const [top, setTop] = useState(0);
  const [scrolling, setScrolling] = useState(false);
  const idle = useRef<number | null>(null);
  const onScroll = (el: HTMLDivElement) => {
    setTop(el.scrollTop);
    if (!scrolling) setScrolling(true);
    if (idle.current != null) clearTimeout(idle.current);
    idle.current = window.setTimeout(() => { idle.current = null; setScrolling(false); }, 120);
  };
  useEffect(() => () => { if (idle.current != null) clearTimeout(idle.current); }, []);

  useLayoutEffect(() => {
    const el = ref.current!;
    const ro = new ResizeObserver(() => setSize({ w: el.clientWidth, h: el.clientHeight }));
    ro.observe(el);
    setSize({ w: el.clientWidth, h: el.clientHeight });
    return () => ro.disconnect();
  }, []);

  const inner = Math.max(0, size.w - gap);
  const cols = Math.max(1, Math.floor(inner / (minCellWidth + gap)));
  const cellW = cols > 0 ? Math.floor(inner / cols) - gap : minCellWidth;
  const rowH = cellHeight(cellW) + gap;
  const rows = Math.ceil(count / cols);
  const first = Math.max(0, Math.floor(top / rowH) - overscanRows);
  const last = Math.min(rows, Math.ceil((top + size.h) / rowH) + overscanRows);
  const start = first * cols;
  const end = Math.min(count, last * cols);

  useEffect(() => { if (size.w > 0) onRange?.(start, end); }, [start, end, size.w, onRange]);

  const cells: ReactNode[] = [];
  for (let i = start; i < end; i++) {
    const r = Math.floor(i / cols);
    const c = i % cols;
    cells.push(
      <div key={i} role="gridcell" aria-rowindex={r + 1} aria-colindex={c + 1} className="vgrid-cell"
        style={{ transform: `translate(${gap + c * (cellW + gap)}px, ${gap + r * rowH}px)`, width: cellW, height: rowH - gap }}>
        {render(i, scrolling)}
      </div>,
    );
  }
  return (
    <div ref={ref} className="vgrid" role="grid" aria-label={label} aria-rowcount={rows} aria-colcount={cols}
      onScroll={(e) => onScroll(e.currentTarget)} data-rendered={end - start} data-scrolling={scrolling || undefined}>
      <div className="vgrid-spacer" style={{ height: rows * rowH + gap }}>{cells}</div>
    </div>
  );
}
