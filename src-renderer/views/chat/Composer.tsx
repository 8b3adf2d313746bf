// The message box: text, images by picker / drag and drop / paste, Ctrl+Enter to send, Esc to stop.
import { useRef, useState, type DragEvent } from 'react';
import { Icon } from '../../components/Icon.tsx';
import { useHotkey } from '../../lib/hotkeys.ts';
import { readImages, type Pending } from './attachments.ts';

export function Composer({ busy, onSend, onStop }: { busy: boolean; onSend: (text: string, images: Pending[]) => Promise<boolean>; onStop: () => void }) {
  const [text, setText] = useState('');
  const [images, setImages] = useState<Pending[]>([]);
  const [note, setNote] = useState<string | null>(null);
  const [over, setOver] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  const add = async (files: Iterable<File>) => {
    const r = await readImages(files);
    setImages((p) => [...p, ...r.ok].slice(0, 8));
    setNote(r.rejected.length ? `Not attached: ${r.rejected.join('; ')}.` : null);
  };
  const send = async () => {
    if (busy || (!text.trim() && images.length === 0)) return;
    if (await onSend(text.trim(), images)) { setText(''); setImages([]); setNote(null); }
  };
  useHotkey('escape', () => { if (busy) onStop(); }, busy);
  const drop = (e: DragEvent) => { e.preventDefault(); setOver(false); void add(e.dataTransfer.files); };
  return (
    <div className={`composer${over ? ' drop' : ''}`} onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)} onDrop={drop}>
      {images.length > 0 && (
        <div className="composer-images">
          {images.map((im, i) => (
            <span key={i} className="att">
              <img src={im.preview} alt={im.name} />
              <button aria-label={`Remove ${im.name}`} onClick={() => setImages((p) => p.filter((_, j) => j !== i))}><Icon name="x" size={12} /></button>
            </span>
          ))}
        </div>
      )}
      <textarea aria-label="Message" rows={2} placeholder="Ask about an image, or ask for one: “draw a red apple”" value={text}
        onChange={(e) => setText(e.target.value)}
        onPaste={(e) => { const f = [...e.clipboardData.files]; if (f.length) { e.preventDefault(); void add(f); } }}
        onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); void send(); } }} />
      <div className="composer-bar">
        <input ref={picker} type="file" accept="image/*" multiple hidden onChange={(e) => { if (e.target.files) void add(e.target.files); e.target.value = ''; }} aria-label="Attach images" />
        <button className="btn ghost small" onClick={() => picker.current?.click()}><Icon name="attach" size={14} />Attach image</button>
        <span className="faint">{note ?? 'Drop or paste images here'}</span>
        <span className="grow" />
        {busy
          ? <button className="btn danger" onClick={onStop}><Icon name="stop" />Stop <kbd>Esc</kbd></button>
          : <button className="btn primary" onClick={() => void send()} disabled={!text.trim() && images.length === 0}><Icon name="send" />Send <kbd>Ctrl ↵</kbd></button>}
      </div>
    </div>
  );
}
