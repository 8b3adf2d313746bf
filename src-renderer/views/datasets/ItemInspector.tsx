// The selected item: a larger image, its caption edited in place (saved on Ctrl+Enter or when the
// field loses focus; the history can be restored), its tags and its split.
import { useEffect, useState } from 'react';
import { SPLITS, type Item } from '../../../src-main/contract/api.ts';
import { useAction, useQuery } from '../../api/hooks.ts';
import { api, mediaUrl } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';
import { formatBytes, formatDate } from '../../lib/format.ts';

export function ItemInspector({ item, onChange, onClose }: { item: Item; onChange: (i: Item) => void; onClose: () => void }) {
  const detail = useQuery('datasets.item', { id: item.id });
  const [caption, setCaption] = useState(item.caption ?? '');
  const [tag, setTag] = useState('');
  const [saved, setSaved] = useState(false);
  useEffect(() => setCaption(item.caption ?? ''), [item.caption]);
  const save = useAction(async () => {
    if (caption === (item.caption ?? '')) return;
    const r = await api.call('datasets.editCaption', { itemId: item.id, text: caption });
    onChange(r.item);
    setSaved(true);
    detail.set((d) => d && { ...d, item: r.item, captions: r.captions });
  });
  const revert = useAction(async (captionId: number) => {
    const r = await api.call('datasets.revertCaption', { captionId });
    onChange(r.item);
    detail.set((d) => d && { ...d, item: r.item, captions: r.captions });
  });
  const addTag = useAction(async () => {
    const t = tag.trim();
    if (!t) return;
    await api.call('datasets.addTag', { itemIds: [item.id], tag: t });
    setTag('');
    await detail.reload();
  });
  const removeTag = useAction(async (t: string) => { await api.call('datasets.removeTag', { itemId: item.id, tag: t }); await detail.reload(); });
  const setSplit = useAction(async (split: Item['split']) => {
    await api.call('datasets.setSplit', { itemIds: [item.id], split });
    onChange({ ...item, split });
  });
  const err = save.error ?? revert.error ?? addTag.error ?? removeTag.error ?? setSplit.error ?? detail.error;
  const dirty = caption !== (item.caption ?? '');
  return (
    <aside className="inspector" aria-label="Item details" onKeyDown={(e) => { if (e.key === 'Escape') onClose(); }}>
      <div className="row">
        <h3 className="grow" title={item.path}>{item.path.split(/[\\/]/).pop()}</h3>
        <button className="btn ghost icon" onClick={onClose} aria-label="Close details"><Icon name="x" /></button>
      </div>
      <div className="inspector-image"><img src={mediaUrl(item.url)} alt={item.caption ?? ''} /></div>
      <div className="faint">{item.width ?? '?'}×{item.height ?? '?'} · {formatBytes(item.bytes)} · {item.status}{item.statusReason ? ` (${item.statusReason})` : ''}</div>
      <div className="field">
        <label htmlFor="cap-edit">Caption <span className="faint">· Ctrl+Enter to save</span></label>
        <textarea id="cap-edit" rows={4} value={caption} onChange={(e) => { setCaption(e.target.value); setSaved(false); }}
          onBlur={() => { if (dirty) void save.run(); }}
          onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); void save.run(); } }} />
        <div className="row">
          <button className="btn small primary" disabled={!dirty || save.pending} onClick={() => void save.run()}>Save caption</button>
          {dirty && <button className="btn small ghost" onClick={() => setCaption(item.caption ?? '')}>Discard</button>}
          {saved && !dirty && <span className="faint" role="status"><Icon name="check" /> Saved</span>}
        </div>
      </div>
      <div className="field">
        <label>Tags</label>
        <div className="row">
          {(detail.data?.tags ?? []).map((t) => (
            <span key={t} className="chip">{t}<button aria-label={`Remove tag ${t}`} onClick={() => void removeTag.run(t)}>×</button></span>
          ))}
        </div>
        <form className="row" onSubmit={(e) => { e.preventDefault(); void addTag.run(); }}>
          <input type="text" className="grow" aria-label="New tag" placeholder="Add a tag" value={tag} onChange={(e) => setTag(e.target.value)} />
          <button className="btn small" type="submit" disabled={!tag.trim()}><Icon name="tag" />Add</button>
        </form>
      </div>
      <div className="field">
        <label htmlFor="item-split">Split</label>
        <select id="item-split" value={item.split ?? ''} onChange={(e) => void setSplit.run((e.target.value || null) as Item['split'])}>
          <option value="">None</option>
          {SPLITS.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </div>
      {err != null && <ErrorView error={err} />}
      {(detail.data?.captions.length ?? 0) > 1 && (
        <details className="history">
          <summary>Caption history ({detail.data!.captions.length})</summary>
          <ul>
            {detail.data!.captions.map((c) => (
              <li key={c.id}>
                <span className="badge neutral">{c.source}</span> <span className="faint">{formatDate(c.createdAt)}</span>
                <div>{c.text || <em className="faint">empty</em>}</div>
                {!c.isCurrent && <button className="btn small ghost" onClick={() => void revert.run(c.id)}>Restore</button>}
              </li>
            ))}
          </ul>
        </details>
      )}
    </aside>
  );
}
