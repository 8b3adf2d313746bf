// One installed model: name, kind, what its card says (description, recipe, parts) and its
// measured metrics, its evaluation results (and "Evaluate"); chat with it or remove it.
import { useState } from 'react';
import type { Model } from '../../../src-main/contract/api.ts';
import { useAction } from '../../api/hooks.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';
import { formatNumber } from '../../lib/format.ts';
import { useNav } from '../../lib/nav.ts';
import { Evaluations } from '../training/Evaluations.tsx';

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

export function ModelCard({ model, onDeleted }: { model: Model; onDeleted: () => void }) {
  const go = useNav();
  const [evalOpen, setEvalOpen] = useState(false);
  const chat = useAction(async () => {
    const c = await api.call('chats.create', { title: `Chat with ${model.name}`, modelId: model.id });
    go('chat', c.id);
  });
  const del = useAction(async () => {
    if (!confirm(`Remove “${model.name}” from Tessera? Its folder stays on disk.`)) return;
    await api.call('models.delete', { id: model.id });
    onDeleted();
  });
  const card = model.card;
  const description = str(card.description);
  const recipe = str(card.recipe) ?? (card.recipe && typeof card.recipe === 'object' ? str((card.recipe as Record<string, unknown>).name) : null);
  const metrics = Object.entries(model.metrics);
  return (
    <article className="card stack model-card" data-model={model.id}>
      <div className="row">
        <h3 className="grow">{model.name}</h3>
        <span className="badge info">{model.kind}</span>
      </div>
      {description && <p className="muted">{description}</p>}
      <div className="faint mono" title={model.dir}>{model.dir}</div>
      {recipe && <div className="faint">Recipe: {recipe}</div>}
      {metrics.length > 0 && (
        <dl className="metrics" aria-label="Measured metrics">
          {metrics.map(([k, v]) => <div key={k}><dt title={k}>{k.replace(/_/g, ' ')}</dt><dd>{v == null ? 'diverged' : formatNumber(v)}</dd></div>)}
        </dl>
      )}
      <details className="model-evals" onToggle={(e) => setEvalOpen(e.currentTarget.open)}>
        <summary>Evaluation results</summary>
        {evalOpen && <Evaluations modelId={model.id} />}
      </details>
      <div className="row">
        {model.kind === 'unified' && <button className="btn" onClick={() => void chat.run()} disabled={chat.pending}><Icon name="chat" />Chat</button>}
        <span className="grow" />
        <button className="btn ghost danger" onClick={() => void del.run()} aria-label={`Remove ${model.name}`}><Icon name="trash" /></button>
      </div>
      {(chat.error ?? del.error) != null && <ErrorView error={chat.error ?? del.error} />}
    </article>
  );
}
