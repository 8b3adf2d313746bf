// Datasets: the list of datasets on the left, the selected one (or the import form) on the right.
// Lists refresh on dataset.changed and job events, so imports fill in live.
import { useRef } from 'react';
import { useApiEvent } from '../../api/events.ts';
import { useQuery } from '../../api/hooks.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';
import { useNav } from '../../lib/nav.ts';
import { DatasetDetail } from './DatasetDetail.tsx';
import { ImportPanel } from './ImportPanel.tsx';
import './datasets.css';

export function DatasetsView({ arg }: { arg: string | null }) {
  const go = useNav();
  const list = useQuery('datasets.list', {});
  const timer = useRef<number | null>(null);
  useApiEvent((e) => {
    if (e.type === 'dataset.changed' || (e.type === 'job.state' && (e.job.kind === 'import' || e.job.kind === 'tokenize'))) {
      if (timer.current == null) timer.current = window.setTimeout(() => { timer.current = null; void list.reload(); }, 400);
    }
  });
  const datasets = list.data?.datasets ?? [];
  const selected = arg && arg !== 'import' ? Number(arg) : arg === null ? datasets[0]?.id ?? null : null;
  return (
    <section className="view" aria-label="Datasets">
      <header className="view-head">
        <h1>Datasets</h1>
        <p>Import image–text data, fix captions, find duplicates, split and tokenize.</p>
        <span className="spacer" />
        <button className="btn primary" onClick={() => go('datasets', 'import')}><Icon name="upload" />Import dataset</button>
      </header>
      <div className="split">
        <div className="pane-list" role="listbox" aria-label="Datasets list">
          {list.error != null && <ErrorView error={list.error} onRetry={list.reload} />}
          {datasets.length === 0 && !list.loading && <p className="faint" style={{ padding: 8 }}>No datasets yet.</p>}
          {datasets.map((d) => (
            <button key={d.id} role="option" className="list-item" aria-selected={d.id === selected} onClick={() => go('datasets', d.id)}>
              <span className="title">{d.name}</span>
              <span className="sub">{d.total.toLocaleString()} items · {d.sourceKind}{d.importStatus === 'importing' ? ' · importing…' : ''}</span>
            </button>
          ))}
        </div>
        <div className="pane-main">
          {arg === 'import' || (selected == null && datasets.length === 0 && !list.loading)
            ? <ImportPanel onStarted={() => void list.reload()} />
            : selected != null
              ? <DatasetDetail key={selected} id={selected} summary={datasets.find((d) => d.id === selected)} onDeleted={() => { void list.reload(); go('datasets'); }} />
              : <div className="empty"><h2>Pick a dataset</h2><p>Choose a dataset on the left, or import a new one.</p></div>}
        </div>
      </div>
    </section>
  );
}
