// The import form: a source kind (HF imagefolder, folder with .txt captions, COCO, CSV or the emoji
// sample), a path and a name; then the import job's progress with ETA and any bad files.
import { useState } from 'react';
import { IMPORT_KINDS } from '../../../src-main/contract/api.ts';
import { useAction } from '../../api/hooks.ts';
import { useJobs } from '../../api/jobs.ts';
import { bridge } from '../../api/bridge.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';
import { JobProgress } from '../../components/JobProgress.tsx';
import { useNav } from '../../lib/nav.ts';

type Kind = (typeof IMPORT_KINDS)[number];
const KINDS: Record<Kind, { label: string; path: string; help: string }> = {
  imagefolder: { label: 'Hugging Face imagefolder', path: 'Folder with metadata.jsonl', help: 'A folder of images with metadata.jsonl lines {"file_name", "text"}.' },
  folder: { label: 'Folder with .txt captions', path: 'Folder', help: 'Images with a sidecar caption file of the same name (cat.png + cat.txt).' },
  coco: { label: 'COCO captions', path: 'captions JSON file', help: 'A COCO captions_*.json; images are looked up next to it or in an images/ folder.' },
  csv: { label: 'CSV', path: 'CSV file', help: 'A CSV with a file (or image/path) column and a caption (or text) column.' },
  emoji: { label: 'Emoji sample (≈15k images)', path: '', help: 'The emoji set shipped with Tessera: four artistic styles with labels and tags.' },
};

export function ImportPanel({ onStarted }: { onStarted: () => void }) {
  const go = useNav();
  const [kind, setKind] = useState<Kind>('imagefolder');
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const [jobId, setJobId] = useState<number | null>(null);
  const { jobs } = useJobs((j) => j.kind === 'import');
  const start = useAction(async () => {
    const r = await api.call('datasets.import', { kind, path: kind === 'emoji' ? '' : path.trim(), name: name.trim() || defaultName(kind, path) });
    setJobId(r.job.id);
    onStarted();
    return r;
  });
  const job = jobs.find((j) => j.id === jobId);
  const canStart = (kind === 'emoji' || path.trim() !== '') && !start.pending;
  return (
    <div className="view-body">
      <form className="card stack import-form" style={{ maxWidth: 640 }} onSubmit={(e) => { e.preventDefault(); if (canStart) void start.run(); }}>
        <div className="card-head"><h2>Import a dataset</h2></div>
        <div className="field">
          <label htmlFor="imp-kind">Source</label>
          <select id="imp-kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            {IMPORT_KINDS.map((k) => <option key={k} value={k}>{KINDS[k].label}</option>)}
          </select>
          <span className="hint">{KINDS[kind].help}</span>
        </div>
        {kind !== 'emoji' && (
          <div className="field">
            <label htmlFor="imp-path">{KINDS[kind].path}</label>
            <div className="row" style={{ flexWrap: 'nowrap' }}>
              <input id="imp-path" className="grow" type="text" value={path} onChange={(e) => setPath(e.target.value)} placeholder="/home/me/data/pets" spellCheck={false} />
              {bridge() && (
                <button type="button" className="btn" onClick={() => void bridge()!.pickPath(kind === 'coco' || kind === 'csv' ? 'file' : 'folder').then((p) => p && setPath(p))}>
                  <Icon name="folder" />Browse…
                </button>
              )}
            </div>
            <span className="hint">A path on this computer. Files are read in place and never modified.</span>
          </div>
        )}
        <div className="field">
          <label htmlFor="imp-name">Name</label>
          <input id="imp-name" type="text" value={name} onChange={(e) => setName(e.target.value)} placeholder={defaultName(kind, path) || 'my-dataset'} />
        </div>
        <div className="row">
          <button className="btn primary" type="submit" disabled={!canStart}><Icon name="upload" />Import</button>
          {job?.status === 'done' && job.datasetId != null && (
            <button className="btn" type="button" onClick={() => go('datasets', job.datasetId)}>Open dataset</button>
          )}
        </div>
        {start.error != null && <ErrorView error={start.error} />}
        {job && <JobProgress job={job} controls unit="files" />}
      </form>
    </div>
  );
}

function defaultName(kind: Kind, path: string): string {
  if (kind === 'emoji') return 'emoji';
  const base = path.trim().replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? '';
  return base.replace(/\.(json|csv)$/i, '');
}
