// Duplicate groups: each kept original beside the items that duplicate it (exact or near), with
// one click to drop the duplicates from the dataset.
import { useAction, useQuery } from '../../api/hooks.ts';
import { api, mediaUrl } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';

export function DuplicatesTab({ datasetId }: { datasetId: number }) {
  const q = useQuery('datasets.duplicates', { datasetId, limit: 200 });
  const drop = useAction(async (ids: number[]) => { await api.call('datasets.removeItems', { itemIds: ids }); await q.reload(); });
  const groups = q.data?.groups ?? [];
  const all = groups.flatMap((g) => g.duplicates.map((d) => d.id));
  return (
    <div className="view-body stack">
      <div className="row">
        <p className="grow muted">{groups.length ? `${groups.length} groups, ${all.length} duplicates.` : ''}</p>
        {all.length > 0 && <button className="btn danger" disabled={drop.pending} onClick={() => void drop.run(all)}><Icon name="trash" />Remove all {all.length} duplicates</button>}
      </div>
      {q.error != null && <ErrorView error={q.error} onRetry={q.reload} />}
      {drop.error != null && <ErrorView error={drop.error} />}
      {groups.length === 0 && !q.loading && <div className="empty"><h2>No duplicates marked</h2><p>Use “Find duplicates” to compare content hashes and perceptual hashes.</p></div>}
      {groups.map((g) => (
        <div key={g.original.id} className="dup-group card">
          <figure><img src={mediaUrl(g.original.url)} alt="" /><figcaption><span className="badge ok">kept</span> {g.original.caption}</figcaption></figure>
          {g.duplicates.map((d) => (
            <figure key={d.id}><img src={mediaUrl(d.url)} alt="" /><figcaption><span className="badge warn">{d.status}</span> {d.path}</figcaption></figure>
          ))}
          <button className="btn small ghost" onClick={() => void drop.run(g.duplicates.map((d) => d.id))}>Remove these</button>
        </div>
      ))}
    </div>
  );
}
