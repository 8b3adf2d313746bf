// The item grid with its filter bar and the inspector of the selected item. Arrow keys move the
// selection; the inspector edits caption, tags and split in place.
import { useCallback, useMemo, useState } from 'react';
import { useApiEvent } from '../../api/events.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { VirtualGrid } from '../../components/VirtualGrid.tsx';
import { FilterBar } from './FilterBar.tsx';
import { ItemCell } from './ItemCell.tsx';
import { ItemInspector } from './ItemInspector.tsx';
import { useItemPages, type ItemFilter } from './useItemPages.ts';

export function ItemsTab({ datasetId }: { datasetId: number; total: number }) {
  const [filter, setFilter] = useState<ItemFilter>({});
  const pages = useItemPages(datasetId, filter);
  const [selected, setSelected] = useState<number | null>(null);
  useApiEvent((e) => { if (e.type === 'dataset.changed' && e.datasetId === datasetId) pages.refresh(); });
  const { items, want } = pages;
  const onRange = useCallback((s: number, e: number) => want(s, e), [want]);
  const item = useMemo(() => items.find((i) => i.id === selected) ?? null, [items, selected]);
  return (
    <div className="items-tab">
      <div className="items-main">
        <FilterBar datasetId={datasetId} filter={filter} onChange={setFilter} shown={pages.total} loading={pages.loading} />
        {pages.error != null && <div className="pad"><ErrorView error={pages.error} onRetry={pages.refresh} /></div>}
        {pages.total === 0 && !pages.loading
          ? <div className="empty"><h2>No items</h2><p>{Object.keys(filter).length ? 'Nothing matches these filters.' : 'This dataset has no items yet.'}</p></div>
          : (
            <VirtualGrid label="Dataset items" count={pages.total} minCellWidth={132} cellHeight={(w) => w + 46} gap={14} onRange={onRange}
              render={(i, scrolling) => {
                const it = items[i];
                return it ? <ItemCell item={it} selected={it.id === selected} onSelect={() => setSelected(it.id)} scrolling={scrolling} /> : <div className="cell-skeleton" />;
              }} />
          )}
      </div>
      {item && <ItemInspector key={item.id} item={item} onChange={pages.patch} onClose={() => setSelected(null)} />}
    </div>
  );
}
