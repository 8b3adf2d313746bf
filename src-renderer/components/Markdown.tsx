// A small, safe Markdown renderer for chat replies: paragraphs, headings, fenced code, lists,
// **bold**, *italics* and `code`. It builds React elements from the text (never innerHTML), so
// nothing the model writes can become markup. Links render as plain text: the app is offline.
import { Fragment, type ReactNode } from 'react';

type Block =
  | { kind: 'p'; text: string }
  | { kind: 'h'; level: number; text: string }
  | { kind: 'code'; lang: string; text: string }
  | { kind: 'ul' | 'ol'; items: string[] };

export function parseBlocks(src: string): Block[] {
  const lines = src.replace(/\r\n?/g, '\n').split('\n');
  const out: Block[] = [];
  let para: string[] = [];
  const flush = () => { if (para.length) out.push({ kind: 'p', text: para.join('\n') }); para = []; };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^```\s*([\w+-]*)/.exec(line);
    if (fence) {
      flush();
      const body: string[] = [];
      for (i++; i < lines.length && !/^```/.test(lines[i]); i++) body.push(lines[i]);
      out.push({ kind: 'code', lang: fence[1], text: body.join('\n') }); // unterminated while streaming: fine
      continue;
    }
    const h = /^(#{1,4})\s+(.*)$/.exec(line);
    if (h) { flush(); out.push({ kind: 'h', level: h[1].length, text: h[2] }); continue; }
    const li = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (li) {
      flush();
      const kind = /\d/.test(li[1]) ? 'ol' : 'ul';
      const last = out[out.length - 1];
      if (last && last.kind === kind) last.items.push(li[2]);
      else out.push({ kind, items: [li[2]] });
      continue;
    }
    if (line.trim() === '') { flush(); continue; }
    para.push(line);
  }
  flush();
  return out;
}

/** Inline spans: `code`, **bold**, *italic* / _italic_; everything else is text. */
export function renderInline(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  const re = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(\*[^*\s][^*\n]*\*)|(\b_[^_\n]+_\b)/g;
  let last = 0;
  let k = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const t = m[0];
    if (m[1]) out.push(<code key={k++}>{t.slice(1, -1)}</code>);
    else if (m[2]) out.push(<strong key={k++}>{renderInline(t.slice(2, -2))}</strong>);
    else out.push(<em key={k++}>{t.slice(1, -1)}</em>);
    last = m.index + t.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function withBreaks(text: string): ReactNode[] {
  return text.split('\n').map((l, i) => <Fragment key={i}>{i > 0 && <br />}{renderInline(l)}</Fragment>);
}

export function Markdown({ text }: { text: string }) {
  return (
    <div className="md">
      {parseBlocks(text).map((b, i) => {
        switch (b.kind) {
          case 'p': return <p key={i}>{withBreaks(b.text)}</p>;
          case 'h': return b.level <= 2 ? <h3 key={i}>{renderInline(b.text)}</h3> : <h4 key={i}>{renderInline(b.text)}</h4>;
          case 'code': return <pre key={i} data-lang={b.lang || undefined}><code>{b.text}</code></pre>;
          case 'ul': return <ul key={i}>{b.items.map((t, j) => <li key={j}>{renderInline(t)}</li>)}</ul>;
          case 'ol': return <ol key={i}>{b.items.map((t, j) => <li key={j}>{renderInline(t)}</li>)}</ol>;
        }
      })}
    </div>
  );
}
