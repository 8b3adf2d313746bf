// One dataset: its counts, actions (duplicates, splits, tokenize, delete) and tabs for the item
// grid, the duplicate groups, import errors and codebook usage.
import { useState } from 'react';
import type { Dataset } from '../../../src-main/contract/api.ts';
import { useAction } from '../../api/hooks.ts';
import { useJobs } from '../../api/jobs.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';
import { JobProgress } from '../../components/JobProgress.tsx';
import { CodebookTab } from './CodebookTab.tsx';
import { DuplicatesTab } from './DuplicatesTab.tsx';
import { ErrorsTab } from './ErrorsTab.tsx';
import { ItemsTab } from './ItemsTab.tsx';
import { SplitsPanel } from './SplitsPanel.tsx';

const TABS = ['Items', 'Duplicates', 'Splits', 'Codebook', 'Import errors'] as const;
type Tab = (typeof TABS)[number];

export function DatasetDetail({ id, summary, onDeleted }: { id: number; summary?: Dataset; onDeleted: () => void }) {
  const [tab, setTab] = useState<Tab>('Items');
  const { jobs } = useJobs((j) => j.datasetId === id && (j.kind === 'import' || j.kind === 'tokenize'));
  const dups = useAction(() => api.call('datasets.findDuplicates', { datasetId: id }));
  const del = useAction(async () => {
    if (!confirm(`Delete the dataset “${summary?.name}”? Its files stay on disk.`)) return;
    await api.call('datasets.delete', { id });
    onDeleted();
  });
  const active = jobs.filter((j) => j.status === 'running' || j.status === 'queued' || j.status === 'paused');
  const d = summary;
  return (
    <div className="dataset-detail">
      <div className="dataset-head">
        <div className="grow">
          <h2>{d?.name ?? `Dataset ${id}`}</h2>
          {d && (
            <div className="row faint">
              <span>{d.total.toLocaleString()} items</span>
              {Object.entries(d.byStatus).filter(([s, n]) => s !== 'ok' && n > 0).map(([s, n]) => <span key={s} className="badge warn">{n} {s}</span>)}
              {(['train', 'validation', 'test'] as const).map((s) => (d.bySplit[s] ?? 0) > 0 && <span key={s} className="badge neutral">{s} {d.bySplit[s]}</span>)}
              {d.importErrors > 0 && <span className="badge danger">{d.importErrors} import errors</span>}
              {d.importStatus !== 'done' && <span className="badge info">{d.importStatus}</span>}
            </div>
          )}
        </div>
        <button className="btn" disabled={dups.pending} onClick={() => void dups.run().then((r) => r && setTab('Duplicates'))}>
          {dups.pending ? <span className="spinner" /> : <Icon name="copy" />}Find duplicates
        </button>
        <button className="btn ghost danger" onClick={() => void del.run()} aria-label="Delete dataset"><Icon name="trash" /></button>
      </div>
      {dups.data && <div className="pad faint" role="status">Marked {dups.data.exact} exact and {dups.data.near} near duplicates.</div>}
      {dups.error != null && <div className="pad"><ErrorView error={dups.error} /></div>}
      {del.error != null && <div className="pad"><ErrorView error={del.error} /></div>}
      {active.map((j) => <div key={j.id} className="pad"><JobProgress job={j} controls unit={j.kind === 'import' ? 'files' : 'items'} /></div>)}
      <div className="dataset-tabs">
        <div className="tabs" role="tablist">
          {TABS.map((t) => <button key={t} role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>{t}</button>)}
        </div>
      </div>
      <div className="dataset-tab-body">
        {tab === 'Items' && <ItemsTab datasetId={id} total={d?.total ?? 0} />}
        {tab === 'Duplicates' && <DuplicatesTab datasetId={id} />}
        {tab === 'Splits' && <SplitsPanel datasetId={id} dataset={d} />}
        {tab === 'Codebook' && <CodebookTab datasetId={id} />}
        {tab === 'Import errors' && <ErrorsTab datasetId={id} />}
      </div>
    </div>
  );
}
