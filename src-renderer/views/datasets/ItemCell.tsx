// One grid cell: the thumbnail, its caption (two lines) and its status/split badges. While the grid
// scrolls fast, a cell whose image was never shown waits (no request for rows flying past).
import type { Item } from '../../../src-main/contract/api.ts';
import { mediaUrl } from '../../api/transport.ts';

const shown = new Set<string>();

export function ItemCell({ item, selected, onSelect, scrolling }: { item: Item; selected: boolean; onSelect: () => void; scrolling: boolean }) {
  const src = mediaUrl(item.url);
  const showImage = !scrolling || shown.has(src);
  if (showImage && shown.size < 200_000) shown.add(src);
  return (
    <button className="item-cell" aria-pressed={selected} onClick={onSelect} data-item={item.id} title={item.path}>
      <div className="thumb">
        {item.status === 'broken'
          ? <span className="faint">unreadable</span>
          : showImage ? <img src={src} alt="" decoding="async" draggable={false} /> : null}
        {item.status !== 'ok' && <span className={`badge ${item.status === 'broken' ? 'danger' : 'warn'} corner`}>{item.status}</span>}
        {item.split && <span className="badge neutral corner-r">{item.split}</span>}
      </div>
      <span className="cap">{item.caption || <em className="faint">no caption</em>}</span>
    </button>
  );
}
