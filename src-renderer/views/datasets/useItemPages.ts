// Keyset paging for the item grid: pages are fetched in id order with afterId, only as far as the
// visible range needs (plus a page ahead). Growing datasets (an import in progress) continue from
// the last loaded id instead of starting over.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Item, Req } from '../../../src-main/contract/api.ts';
import { api } from '../../api/transport.ts';

export type ItemFilter = Omit<Req<'datasets.items'>, 'datasetId' | 'afterId' | 'limit'>;

export interface ItemPages {
  items: Item[];
  total: number;
  loading: boolean;
  error: unknown;
  /** Ask for items up to `end` (exclusive). */
  want: (start: number, end: number) => void;
  /** Replace one item in place (after an edit). */
  patch: (item: Item) => void;
  refresh: () => void;
}

const PAGE = 300;

export function useItemPages(datasetId: number, filter: ItemFilter): ItemPages {
  const [state, setState] = useState<{ items: Item[]; total: number; next: number | null; done: boolean }>({ items: [], total: 0, next: null, done: false });
  const stateRef = useRef(state);
  stateRef.current = state;
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const wantEnd = useRef(PAGE);
  const inflight = useRef(false);
  const generation = useRef(0);
  /** The afterId the next page continues from, set the moment a page arrives (undefined: from the
   *  start). An effect of an earlier render can still hold the cursor before that page; its request
   *  would load the same page twice and shift every later item, so it is refused. */
  const cursor = useRef<number | null | undefined>(undefined);
  const key = JSON.stringify(filter);

  const fetchMore = useCallback(async (gen: number, afterId: number | undefined) => {
    if (inflight.current || afterId !== cursor.current) return;
    inflight.current = true;
    setLoading(true);
    try {
      const f = JSON.parse(key) as ItemFilter;
      // far behind the viewport (a jump to the end): the largest pages the API allows
      const behind = wantEnd.current - stateRef.current.items.length;
      const limit = Math.min(1000, Math.max(PAGE, behind + PAGE));
      const r = await api.call('datasets.items', { ...f, datasetId, afterId, limit });
      if (gen !== generation.current) return;
      cursor.current = r.nextAfterId;
      setState((s) => {
        const items = afterId === undefined ? r.items : [...s.items, ...r.items];
        return { items, total: Math.max(r.total, items.length), next: r.nextAfterId, done: r.nextAfterId === null };
      });
      setError(null);
    } catch (e) {
      if (gen === generation.current) setError(e);
    } finally {
      inflight.current = false;
      if (gen === generation.current) setLoading(false);
    }
  }, [datasetId, key]);

  // new filter: start over
  useEffect(() => {
    generation.current++;
    inflight.current = false;
    cursor.current = undefined;
    setState({ items: [], total: 0, next: null, done: false });
    void fetchMore(generation.current, undefined);
  }, [fetchMore]);

  // keep loading while the wanted range is beyond what is loaded
  useEffect(() => {
    if (!state.done && state.next !== null && state.items.length < wantEnd.current + PAGE / 2 && !inflight.current) {
      void fetchMore(generation.current, state.next);
    }
  }, [state, fetchMore]);

  const want = useCallback((_start: number, end: number) => {
    wantEnd.current = end;
    setState((s) => ({ ...s })); // re-run the loading effect
  }, []);

  const patch = useCallback((item: Item) => {
    setState((s) => ({ ...s, items: s.items.map((i) => (i.id === item.id ? item : i)) }));
  }, []);

  /** Pick up items added since the last page (imports) without dropping what is loaded. */
  const refresh = useCallback(() => {
    const s = stateRef.current;
    if (!s.done) return;
    const last = s.items[s.items.length - 1];
    if (inflight.current) return;
    cursor.current = last ? last.id : undefined;
    void fetchMore(generation.current, cursor.current);
  }, [fetchMore]);

  return { items: state.items, total: state.total, loading, error, want, patch, refresh };
}
