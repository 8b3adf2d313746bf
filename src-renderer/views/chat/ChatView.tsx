// Chat: persisted conversations on the left, the selected conversation on the right. A new chat is
// created on first send if none is selected.
import { useQuery } from '../../api/hooks.ts';
import { useAction } from '../../api/hooks.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';
import { formatDate } from '../../lib/format.ts';
import { useHotkey } from '../../lib/hotkeys.ts';
import { useNav } from '../../lib/nav.ts';
import { ChatThread } from './ChatThread.tsx';
import './chat.css';

export function ChatView({ arg }: { arg: string | null }) {
  const go = useNav();
  const chats = useQuery('chats.list', {});
  const models = useQuery('models.list', {});
  const create = useAction(async () => {
    const c = await api.call('chats.create', {});
    await chats.reload();
    go('chat', c.id);
    return c;
  });
  const del = useAction(async (id: number) => {
    await api.call('chats.delete', { id });
    await chats.reload();
    if (String(id) === arg) go('chat');
  });
  useHotkey('mod+shift+o', () => void create.run());
  const list = chats.data?.chats ?? [];
  const selected = arg ? Number(arg) : list[0]?.id ?? null;
  const unified = (models.data?.models ?? []).filter((m) => m.kind === 'unified');
  return (
    <section className="view" aria-label="Chat">
      <div className="split">
        <div className="pane-list" aria-label="Conversations">
          <button className="btn" onClick={() => void create.run()} disabled={create.pending} title="New chat (Ctrl+Shift+O)"><Icon name="plus" />New chat</button>
          <div role="listbox" aria-label="Conversation list" className="stack" style={{ gap: 2, marginTop: 8 }}>
            {list.map((c) => (
              <div key={c.id} className="chat-row">
                <button role="option" className="list-item" aria-selected={c.id === selected} onClick={() => go('chat', c.id)}>
                  <span className="title">{c.title}</span>
                  <span className="sub">{formatDate(c.updatedAt)}</span>
                </button>
                <button className="btn ghost icon small del" aria-label={`Delete ${c.title}`} onClick={() => void del.run(c.id)}><Icon name="trash" size={14} /></button>
              </div>
            ))}
          </div>
          {list.length === 0 && !chats.loading && <p className="faint" style={{ padding: 8 }}>No conversations yet.</p>}
          {(chats.error ?? create.error ?? del.error) != null && <ErrorView error={chats.error ?? create.error ?? del.error} />}
        </div>
        <div className="pane-main">
          {models.data && unified.length === 0 && (
            <div className="banner alert warn" role="status">
              <div><strong>No unified model is installed,</strong> so replies cannot be generated yet. <button className="btn small" onClick={() => go('models')}>Open Models</button></div>
            </div>
          )}
          <ChatThread key={selected ?? 'new'} chatId={selected} onCreated={(id) => { void chats.reload(); go('chat', id); }} onActivity={() => void chats.reload()} />
        </div>
      </div>
    </section>
  );
}
