// Models: installed models with their cards and measured metrics, importing a model folder, and
// the execution provider and thread count the backend runs them with.
import { useState } from 'react';
import { useAction, useQuery } from '../../api/hooks.ts';
import { bridge } from '../../api/bridge.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';
import { ModelCard } from './ModelCard.tsx';
import { RuntimePanel } from './RuntimePanel.tsx';
import './models.css';

export function ModelsView() {
  const models = useQuery('models.list', {});
  const [path, setPath] = useState('');
  const imp = useAction(async () => {
    await api.call('models.import', { path: path.trim() });
    setPath('');
    await models.reload();
  });
  const list = models.data?.models ?? [];
  return (
    <section className="view" aria-label="Models">
      <header className="view-head">
        <h1>Models</h1>
        <p>What is installed, how well it measured, and how it runs.</p>
      </header>
      <div className="view-body stack">
        <div className="models-top">
          <form className="card stack" onSubmit={(e) => { e.preventDefault(); if (path.trim()) void imp.run(); }}>
            <h3>Import a model folder</h3>
            <p className="faint">A folder with a <code>tessera.json</code> card, <code>config.json</code>, weights (<code>.safetensors</code>) and <code>tokenizer.json</code>.</p>
            <div className="row">
              <input type="text" className="grow" aria-label="Model folder" placeholder="/home/me/models/emoji-unified" value={path} onChange={(e) => setPath(e.target.value)} spellCheck={false} />
              {bridge() && <button type="button" className="btn" onClick={() => void bridge()!.pickPath('folder').then((p) => p && setPath(p))}>Browse…</button>}
              <button className="btn primary" type="submit" disabled={!path.trim() || imp.pending}><Icon name="folder" />Import</button>
            </div>
            {imp.error != null && <ErrorView error={imp.error} />}
          </form>
          <RuntimePanel />
        </div>
        {models.error != null && <ErrorView error={models.error} onRetry={models.reload} />}
        {list.length === 0 && !models.loading && (
          <div className="empty card">
            <h2>No model installed</h2>
            <p>Chat and image generation need a unified model. The default one ships in <code>models/</code>; you can also import a folder above or train one in Training.</p>
          </div>
        )}
        <div className="cards">
          {list.map((m) => <ModelCard key={m.id} model={m} onDeleted={models.reload} />)}
        </div>
      </div>
    </section>
  );
}
