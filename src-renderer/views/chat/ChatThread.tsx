// One conversation: its stored messages, the reply streaming in (markdown text and images drawn as
// they arrive), and the composer. Sending in no chat creates one first.
import { useEffect, useRef } from 'react';
import type { Message } from '../../../src-main/contract/api.ts';
import { useAction, useQuery } from '../../api/hooks.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Markdown } from '../../components/Markdown.tsx';
import type { Pending } from './attachments.ts';
import { Composer } from './Composer.tsx';
import { MessageView } from './MessageView.tsx';
import { ProgressiveImage } from './ProgressiveImage.tsx';
import { clearStream, ensureListening, registerStream, useStream } from '../../api/streams.ts';

export function ChatThread({ chatId, onCreated, onActivity }: { chatId: number | null; onCreated: (id: number) => void; onActivity: () => void }) {
  const q = useQuery('chats.get', chatId != null ? { id: chatId } : null);
  const stream = useStream(chatId != null ? `chat:${chatId}` : null);
  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const busy = !!stream && !stream.finished;

  const send = useAction(async (text: string, images: Pending[]) => {
    ensureListening();
    let id = chatId;
    if (id == null) id = (await api.call('chats.create', { title: text.slice(0, 48) || 'Image chat' })).id;
    const r = await api.call('chats.send', { chatId: id, text, attachments: images.map((i) => ({ data: i.data, name: i.name })) });
    registerStream(`chat:${id}`, r.streamId);
    if (chatId == null) onCreated(id);
    else q.set((d) => d && { ...d, messages: [...d.messages, r.userMessage] });
    return true;
  });
  const regenerate = useAction(async (messageId: number) => {
    ensureListening();
    const r = await api.call('chats.regenerate', { chatId: chatId!, messageId });
    q.set((d) => d && { ...d, messages: d.messages.filter((m) => m.id < messageId) });
    registerStream(`chat:${chatId}`, r.streamId);
  });
  const stop = useAction(async () => { if (stream) await api.call('streams.stop', { streamId: stream.streamId }); });

  // a finished reply becomes a stored message
  useEffect(() => {
    if (!stream?.finished || chatId == null) return;
    void q.reload().then(() => { if (!stream.error) clearStream(`chat:${chatId}`); onActivity(); });
  }, [stream?.finished]); // runs once per finished reply

  // keep the newest content in view unless the user scrolled up
  useEffect(() => {
    const el = scroller.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  });

  const messages: Message[] = q.data?.messages ?? [];
  const lastAssistant = [...messages].reverse().find((m) => m.role === 'assistant');
  const showStream = stream && !(stream.finished && !stream.error && stream.message && messages.some((m) => m.id === stream.message!.id));
  return (
    <div className="thread">
      <div className="messages" ref={scroller} onScroll={(e) => { const el = e.currentTarget; pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40; }} aria-live="polite">
        {q.error != null && <ErrorView error={q.error} onRetry={q.reload} />}
        {messages.length === 0 && !stream && !q.loading && (
          <div className="empty">
            <h2>Start a conversation</h2>
            <p>Attach an image and ask what it shows, or ask for a picture (“draw a red apple”). Everything runs on this computer.</p>
          </div>
        )}
        {messages.filter((m) => m.role !== 'system').map((m) => (
          <MessageView key={m.id} message={m} onRegenerate={m.id === lastAssistant?.id && !busy ? () => void regenerate.run(m.id) : undefined} />
        ))}
        {showStream && (
          <div className="msg assistant streaming" data-role="assistant" data-streaming={!stream.finished}>
            <div className="bubble">
              {stream.images.length > 0 && <div className="msg-images">{stream.images.map((im) => <ProgressiveImage key={im.index} image={im} />)}</div>}
              {stream.text ? <Markdown text={stream.text} /> : !stream.finished && stream.images.length === 0 && <span className="typing"><i /><i /><i /></span>}
              {stream.reason === 'aborted' && <p className="faint">Stopped.</p>}
            </div>
          </div>
        )}
        {stream?.error && <ErrorView title="The reply could not be generated." error={stream.error} />}
        {(send.error ?? regenerate.error ?? stop.error) != null && <ErrorView error={send.error ?? regenerate.error ?? stop.error} />}
      </div>
      <Composer busy={busy || send.pending} onSend={async (t, i) => !!(await send.run(t, i))} onStop={() => void stop.run()} />
    </div>
  );
}
