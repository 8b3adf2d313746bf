// One grid cell: the thumbnail, its caption (two lines) and its status/split badges.
import type { Item } from '../../../src-main/contract/api.ts';
import { mediaUrl } from '../../api/transport.ts';

export function ItemCell({ item, selected, onSelect }: { item: Item; selected: boolean; onSelect: () => void }) {
  return (
    <button className="item-cell" aria-pressed={selected} onClick={onSelect} data-item={item.id} title={item.path}>
      <div className="thumb">
        {item.status === 'broken'
          ? <span className="faint">unreadable</span>
          : <img src={mediaUrl(item.url)} alt="" loading="lazy" decoding="async" draggable={false} />}
        {item.status !== 'ok' && <span className={`badge ${item.status === 'broken' ? 'danger' : 'warn'} corner`}>{item.status}</span>}
        {item.split && <span className="badge neutral corner-r">{item.split}</span>}
      </div>
      <span className="cap">{item.caption || <em className="faint">no caption</em>}</span>
    </button>
  );
}
