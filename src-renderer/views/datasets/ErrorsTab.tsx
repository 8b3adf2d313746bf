// Files the import could not use, each with the reason (the import carried on without them).
import { useQuery } from '../../api/hooks.ts';
import { ErrorView } from '../../components/ErrorView.tsx';

export function ErrorsTab({ datasetId }: { datasetId: number }) {
  const q = useQuery('datasets.importErrors', { datasetId });
  const errors = q.data?.errors ?? [];
  return (
    <div className="view-body">
      {q.error != null && <ErrorView error={q.error} onRetry={q.reload} />}
      {errors.length === 0 && !q.loading
        ? <div className="empty"><h2>No import errors</h2><p>Every file was read.</p></div>
        : <table className="table"><thead><tr><th>File</th><th>Reason</th></tr></thead>
          <tbody>{errors.map((e) => <tr key={e.id}><td className="mono">{e.path}</td><td>{e.reason}</td></tr>)}</tbody></table>}
    </div>
  );
}
