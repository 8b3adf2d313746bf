// React hooks over the API: a query that loads on mount and when its request changes (and can be
// reloaded), and an action wrapper that tracks pending state and the last error.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Method, Req, Res } from '../../src-main/contract/api.ts';
import { api } from './transport.ts';

export interface Query<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => Promise<void>;
  set: (update: (d: T | undefined) => T | undefined) => void;
}

/** Calls `method` with `request` (skipped while request is null); re-runs when the request changes. */
export function useQuery<M extends Method>(method: M, request: Req<M> | null): Query<Res<M>> {
  const [data, setData] = useState<Res<M>>();
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(request !== null);
  const key = request === null ? null : JSON.stringify(request);
  const seq = useRef(0);
  const load = useCallback(async () => {
    if (key === null) return;
    const mine = ++seq.current;
    setLoading(true);
    try {
      const r = await api.call(method, JSON.parse(key) as Req<M>);
      if (mine === seq.current) { setData(r); setError(null); }
    } catch (e) {
      if (mine === seq.current) setError(e);
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  }, [method, key]);
  useEffect(() => { void load(); }, [load]);
  return { data, error, loading, reload: load, set: setData };
}

export interface Action<A extends unknown[], T> {
  run: (...args: A) => Promise<T | undefined>;
  pending: boolean;
  error: unknown;
  /** The last successful result. */
  data: T | undefined;
  clear: () => void;
}

/** Wraps an async action: `pending` while it runs, `error` if it threw (the error is not rethrown). */
export function useAction<A extends unknown[], T>(fn: (...args: A) => Promise<T>): Action<A, T> {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [data, setData] = useState<T>();
  const ref = useRef(fn);
  ref.current = fn;
  const run = useCallback(async (...args: A) => {
    setPending(true);
    setError(null);
    try {
      const r = await ref.current(...args);
      setData(r);
      return r;
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setPending(false);
    }
  }, []);
  return { run, pending, error, data, clear: () => setError(null) };
}
