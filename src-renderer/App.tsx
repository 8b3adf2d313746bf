// The app shell: sidebar navigation (Alt+1…5), theme toggle, connection state, and the active view
// inside an error boundary so one broken view never takes the others down.
import { Suspense } from 'react';
import { useConnected } from './api/events.ts';
import { hasToken, transport } from './api/transport.ts';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { Icon, type IconName } from './components/Icon.tsx';
import { useHotkey } from './lib/hotkeys.ts';
import { NavContext, useRouteState, type View } from './lib/nav.ts';
import { useTheme } from './lib/theme.ts';
import { ChatView } from './views/chat/ChatView.tsx';
import { DatasetsView } from './views/datasets/DatasetsView.tsx';
import { GenerateView } from './views/generate/GenerateView.tsx';
import { ModelsView } from './views/models/ModelsView.tsx';
import { TrainingView } from './views/training/TrainingView.tsx';

const NAV: { view: View; label: string; icon: IconName }[] = [
  { view: 'chat', label: 'Chat', icon: 'chat' },
  { view: 'generate', label: 'Generate', icon: 'image' },
  { view: 'datasets', label: 'Datasets', icon: 'dataset' },
  { view: 'training', label: 'Training', icon: 'training' },
  { view: 'models', label: 'Models', icon: 'model' },
];

export function App() {
  const [route, go] = useRouteState();
  const [theme, cycleTheme] = useTheme();
  const connected = useConnected();
  useHotkey('alt+1', () => go('chat'));
  useHotkey('alt+2', () => go('generate'));
  useHotkey('alt+3', () => go('datasets'));
  useHotkey('alt+4', () => go('training'));
  useHotkey('alt+5', () => go('models'));
  if (!hasToken) return <NoToken />;
  return (
    <NavContext.Provider value={go}>
      <div className="app">
        <nav className="sidebar" aria-label="Views">
          <div className="brand"><div className="brand-mark"><span /><span /><span /><span /></div><span className="brand-name">Tessera</span></div>
          {NAV.map((n, i) => (
            <button key={n.view} className="nav-item" aria-current={route.view === n.view ? 'page' : undefined} onClick={() => go(n.view)}>
              <Icon name={n.icon} />{n.label}<kbd>Alt {i + 1}</kbd>
            </button>
          ))}
          <div className="sidebar-foot">
            <button className="btn ghost small" onClick={cycleTheme} aria-label={`Theme: ${theme}. Change theme`} title="Change theme">
              <Icon name={theme === 'dark' ? 'moon' : theme === 'light' ? 'sun' : 'system'} />
              {theme === 'system' ? 'System theme' : theme === 'dark' ? 'Dark' : 'Light'}
            </button>
            <span className="conn" data-state={connected ? 'up' : 'down'}>{connected ? (transport === 'ipc' ? 'Local backend' : 'Connected') : 'Reconnecting…'}</span>
          </div>
        </nav>
        <main className="main">
          <ErrorBoundary resetKey={route.view}>
            <Suspense fallback={null}>
              {route.view === 'chat' && <ChatView arg={route.arg} />}
              {route.view === 'generate' && <GenerateView />}
              {route.view === 'datasets' && <DatasetsView arg={route.arg} />}
              {route.view === 'training' && <TrainingView arg={route.arg} />}
              {route.view === 'models' && <ModelsView />}
            </Suspense>
          </ErrorBoundary>
        </main>
      </div>
    </NavContext.Provider>
  );
}

function NoToken() {
  return (
    <div className="empty" style={{ height: '100%' }}>
      <h2>Open Tessera from its link</h2>
      <p>This page needs the access token that <code>tessera serve</code> prints with its URL
        (<code>http://127.0.0.1:PORT/#token=…</code>). Open that link to continue.</p>
    </div>
  );
}
