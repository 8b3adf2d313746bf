// One message: the user's text and images, or the assistant's markdown and images, with copy,
// save image and regenerate actions; an answer that leaned on the model's example memory says on
// which labelled examples, with their shares, and a drawing drawn by example which example it redraws.
import { useState } from 'react';
import type { Message } from '../../../src-main/contract/api.ts';
import { mediaUrl } from '../../api/transport.ts';
import { Icon } from '../../components/Icon.tsx';
import { Markdown } from '../../components/Markdown.tsx';

export function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button className="btn ghost small" onClick={() => void navigator.clipboard.writeText(text).then(() => { setCopied(true); setTimeout(() => setCopied(false), 1500); }, () => undefined)}>
      <Icon name={copied ? 'check' : 'copy'} size={14} />{copied ? 'Copied' : 'Copy'}
    </button>
  );
}

export function MessageView({ message, onRegenerate }: { message: Message; onRegenerate?: () => void }) {
  const mine = message.role === 'user';
  return (
    <div className={`msg ${message.role}`} data-message={message.id} data-role={message.role}>
      <div className="bubble">
        {message.attachments.length > 0 && (
          <div className="msg-images">
            {message.attachments.map((a, k) => {
              const from = message.drawnFrom?.find((d) => d.index === k);
              return (
                <figure key={a.id} className="msg-image">
                  <img src={mediaUrl(a.url)} alt="" width={a.width} height={a.height} />
                  {from && <figcaption className="faint drawn-from" title="Drawn by example: the model redrew one of the images its example memory holds of this name">By example {from.example} of {from.of} of “{from.label}”</figcaption>}
                  {!mine && <a className="btn ghost small" href={mediaUrl(a.url)} download={`tessera-${a.id}.png`}><Icon name="download" size={14} />Save image</a>}
                </figure>
              );
            })}
          </div>
        )}
        {message.content && (mine ? <p className="user-text">{message.content}</p> : <Markdown text={message.content} />)}
        {message.memory && message.memory.length > 0 && (
          <p className="faint memory-note" title="The model's example memory: the labelled images nearest to this one, and how much each answer weighed">
            From the example memory: {message.memory.map((x) => `${x.answer} ${(x.share * 100).toFixed(0)}%`).join(' · ')}
          </p>
        )}
      </div>
      {!mine && (
        <div className="msg-actions">
          {message.content && <CopyButton text={message.content} />}
          {onRegenerate && <button className="btn ghost small" onClick={onRegenerate}><Icon name="refresh" size={14} />Regenerate</button>}
        </div>
      )}
    </div>
  );
}
