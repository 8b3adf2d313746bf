// Filters for the item grid: caption/path text (debounced), tag, split, status (duplicates, broken)
// and a minimum size. Shows how many items match.
import { useEffect, useState } from 'react';
import { ITEM_STATUSES, SPLITS } from '../../../src-main/contract/api.ts';
import { useQuery } from '../../api/hooks.ts';
import type { ItemFilter } from './useItemPages.ts';

export function FilterBar({ datasetId, filter, onChange, shown, loading }: {
  datasetId: number; filter: ItemFilter; onChange: (f: ItemFilter) => void; shown: number; loading: boolean;
}) {
  const [text, setText] = useState(filter.text ?? '');
  const info = useQuery('datasets.get', { id: datasetId });
  useEffect(() => {
    const t = setTimeout(() => {
      const v = text.trim() || undefined;
      if (v !== filter.text) onChange({ ...filter, text: v });
    }, 250);
    return () => clearTimeout(t);
  }, [text]); // only the text input is debounced here
  const set = (patch: Partial<ItemFilter>) => {
    const next: ItemFilter = { ...filter, ...patch };
    for (const k of Object.keys(next) as (keyof ItemFilter)[]) if (next[k] === undefined || next[k] === '') delete next[k];
    onChange(next);
  };
  const tags = info.data?.tags ?? [];
  return (
    <div className="filter-bar" role="search">
      <input type="search" aria-label="Search captions and paths" placeholder="Search captions and paths…" value={text} onChange={(e) => setText(e.target.value)} className="grow" />
      <select aria-label="Tag" value={filter.tag ?? ''} onChange={(e) => set({ tag: e.target.value || undefined })}>
        <option value="">Any tag</option>
        {tags.slice(0, 500).map((t) => <option key={t.tag} value={t.tag}>{t.tag} ({t.count})</option>)}
      </select>
      <select aria-label="Split" value={filter.split ?? ''} onChange={(e) => set({ split: (e.target.value || undefined) as ItemFilter['split'] })}>
        <option value="">Any split</option>
        {[...SPLITS, 'none' as const].map((s) => <option key={s} value={s}>{s === 'none' ? 'No split' : s}</option>)}
      </select>
      <select aria-label="Status" value={filter.status ?? ''} onChange={(e) => set({ status: (e.target.value || undefined) as ItemFilter['status'] })}>
        <option value="">Any status</option>
        {ITEM_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
      </select>
      <select aria-label="Duplicates" value={filter.duplicate === undefined ? '' : String(filter.duplicate)} onChange={(e) => set({ duplicate: e.target.value === '' ? undefined : e.target.value === 'true' })}>
        <option value="">With duplicates</option>
        <option value="false">Hide duplicates</option>
        <option value="true">Only duplicates</option>
      </select>
      <select aria-label="Minimum size" value={filter.minWidth ?? ''} onChange={(e) => {
        const v = e.target.value ? Number(e.target.value) : undefined;
        set({ minWidth: v, minHeight: v });
      }}>
        <option value="">Any size</option>
        {[32, 64, 128, 256, 512, 1024].map((s) => <option key={s} value={s}>≥ {s}px</option>)}
      </select>
      <span className="faint count" aria-live="polite">{loading ? <span className="spinner" /> : null} {shown.toLocaleString()} shown</span>
    </div>
  );
}
