// The gallery: every generated image with its prompt and parameters, newest first (paged), with
// reuse parameters, download (the PNG carries prompt, seed, settings and model as metadata) and
// delete. New images appear when a generate stream finishes.
import { useCallback, useEffect, useState } from 'react';
import type { Generation } from '../../../src-main/contract/api.ts';
import { useApiEvent } from '../../api/events.ts';
import { useAction } from '../../api/hooks.ts';
import { api, mediaUrl } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';

export function Gallery({ onReuse }: { onReuse: (g: Generation) => void }) {
  const [items, setItems] = useState<Generation[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const load = useAction(async (beforeId?: number) => {
    const r = await api.call('gallery.list', { beforeId, limit: 60 });
    setItems((cur) => (beforeId ? [...cur, ...r.generations] : r.generations));
    setNext(r.nextBeforeId);
  });
  const run = load.run;
  const first = useCallback(() => void run(), [run]);
  useEffect(first, [first]);
  useApiEvent((e) => {
    if (e.type === 'stream.done' && e.generations.length) setItems((cur) => [...e.generations.filter((g) => !cur.some((c) => c.id === g.id)), ...cur]);
  });
  const del = useAction(async (id: number) => { await api.call('gallery.delete', { id }); setItems((c) => c.filter((g) => g.id !== id)); });
  return (
    <div className="gallery">
      <div className="row"><h2 className="grow">Gallery</h2><span className="faint">{items.length}{next ? '+' : ''} image{items.length === 1 && !next ? '' : 's'}</span></div>
      {(load.error ?? del.error) != null && <ErrorView error={load.error ?? del.error} onRetry={first} />}
      {items.length === 0 && !load.pending && <div className="empty"><h2>Nothing generated yet</h2><p>Write a prompt and press Generate. Results land here with their settings.</p></div>}
      <div className="gallery-grid" role="list" aria-label="Generated images">
        {items.map((g) => (
          <figure key={g.id} className="gal-item" role="listitem" data-generation={g.id}>
            <img src={mediaUrl(g.url)} alt={g.prompt} loading="lazy" />
            <figcaption>
              <span className="prompt" title={g.prompt}>{g.prompt}</span>
              <span className="params faint">{describe(g.params)}</span>
              <span className="row actions">
                <button className="btn ghost small" onClick={() => onReuse(g)} title="Put these settings in the form"><Icon name="refresh" size={14} />Reuse</button>
                <a className="btn ghost small" href={mediaUrl(g.url)} download={`tessera-${g.id}.png`}><Icon name="download" size={14} />PNG</a>
                <button className="btn ghost small" aria-label="Delete image" onClick={() => void del.run(g.id)}><Icon name="trash" size={14} /></button>
              </span>
            </figcaption>
          </figure>
        ))}
      </div>
      {next && <div><button className="btn" disabled={load.pending} onClick={() => void load.run(next)}>Load more</button></div>}
    </div>
  );
}

function describe(p: Record<string, unknown>): string {
  const parts: string[] = [];
  if (p.seed != null) parts.push(`seed ${p.seed}`);
  const ex = p.example as { label?: unknown; example?: unknown; of?: unknown } | undefined;
  if (p.cfg != null && !ex) parts.push(`cfg ${p.cfg}`); // a drawing by example is unguided
  if (p.temperature != null) parts.push(`t ${p.temperature}`);
  if (p.topK) parts.push(`top-k ${p.topK}`);
  if (typeof p.n === 'number' && p.n > 1 && typeof p.index === 'number') parts.push(`${p.index + 1} of ${p.n}`);
  if (ex && typeof ex.label === 'string') parts.push(`by example ${String(ex.example)} of ${String(ex.of)} of “${ex.label}”`);
  return parts.join(' · ');
}
