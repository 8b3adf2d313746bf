// Which view is showing, kept in the URL fragment (#chat, #datasets/3, …) so reload and back work.
import { createContext, useCallback, useContext, useEffect, useState } from 'react';

export const VIEWS = ['chat', 'generate', 'datasets', 'training', 'models'] as const;
export type View = (typeof VIEWS)[number];
export interface Route { view: View; arg: string | null }

export function parseRoute(hash: string): Route {
  const [v, arg] = hash.replace(/^#\/?/, '').split('/');
  return { view: (VIEWS as readonly string[]).includes(v) ? (v as View) : 'chat', arg: arg ? decodeURIComponent(arg) : null };
}

export function useRouteState(): [Route, (view: View, arg?: string | number | null) => void] {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  const go = useCallback((view: View, arg?: string | number | null) => {
    const h = `#${view}${arg != null ? `/${encodeURIComponent(String(arg))}` : ''}`;
    if (location.hash !== h) location.hash = h;
    setRoute({ view, arg: arg != null ? String(arg) : null });
  }, []);
  return [route, go];
}

export const NavContext = createContext<(view: View, arg?: string | number | null) => void>(() => undefined);
export const useNav = () => useContext(NavContext);
