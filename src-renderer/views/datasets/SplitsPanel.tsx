// Splits: the current train / validation / test counts as a bar, and a seeded random assignment
// with adjustable fractions (or by path prefix, e.g. a style folder held out as test).
import { useState } from 'react';
import type { Dataset } from '../../../src-main/contract/api.ts';
import { useAction } from '../../api/hooks.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';

export function SplitsPanel({ datasetId, dataset }: { datasetId: number; dataset?: Dataset }) {
  const [train, setTrain] = useState(80);
  const [val, setVal] = useState(10);
  const [seed, setSeed] = useState(0);
  const [prefix, setPrefix] = useState('');
  const assign = useAction((spec: Parameters<typeof api.call<'datasets.assignSplits'>>[1]['spec']) => api.call('datasets.assignSplits', { datasetId, spec }));
  const test = Math.max(0, 100 - train - val);
  const counts: Partial<Record<'train' | 'validation' | 'test' | 'none', number>> = assign.data?.counts ?? dataset?.bySplit ?? {};
  const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0) || 1;
  return (
    <div className="view-body stack" style={{ maxWidth: 720 }}>
      <div className="card stack">
        <h3>Current splits</h3>
        <div className="split-bar" aria-label="Split sizes">
          {(['train', 'validation', 'test', 'none'] as const).map((s) => (counts[s] ?? 0) > 0 && (
            <span key={s} className={`seg ${s}`} style={{ flexGrow: counts[s] ?? 0 }} title={`${s}: ${counts[s]}`}>{s} {(counts[s] ?? 0).toLocaleString()}</span>
          ))}
        </div>
        <span className="faint">{Math.round((100 * (counts.none ?? 0)) / total)}% of items have no split.</span>
      </div>
      <form className="card stack" onSubmit={(e) => { e.preventDefault(); void assign.run({ seed, fractions: { train: train / 100, validation: val / 100, test: test / 100 } }); }}>
        <h3>Random split</h3>
        <div className="field-row">
          <div className="field"><label htmlFor="sp-train">Train <span className="value">{train}%</span></label><input id="sp-train" type="range" min={0} max={100} value={train} onChange={(e) => { const v = +e.target.value; setTrain(v); if (v + val > 100) setVal(100 - v); }} /></div>
          <div className="field"><label htmlFor="sp-val">Validation <span className="value">{val}%</span></label><input id="sp-val" type="range" min={0} max={100 - train} value={val} onChange={(e) => setVal(+e.target.value)} /></div>
          <div className="field"><label>Test <span className="value">{test}%</span></label><div className="faint">the rest</div></div>
          <div className="field"><label htmlFor="sp-seed">Seed</label><input id="sp-seed" type="number" min={0} value={seed} onChange={(e) => setSeed(Math.max(0, Math.floor(+e.target.value)))} /></div>
        </div>
        <div><button className="btn primary" type="submit" disabled={assign.pending}>Assign splits</button></div>
      </form>
      <form className="card stack" onSubmit={(e) => { e.preventDefault(); if (prefix.trim()) void assign.run({ byPathPrefix: { [prefix.trim()]: 'test' } }); }}>
        <h3>Hold out a folder</h3>
        <p className="faint">Items whose path starts with this prefix become the test split (e.g. one artistic style).</p>
        <div className="row">
          <input type="text" className="grow" aria-label="Path prefix" placeholder="facebook/" value={prefix} onChange={(e) => setPrefix(e.target.value)} />
          <button className="btn" type="submit" disabled={!prefix.trim() || assign.pending}>Hold out as test</button>
        </div>
      </form>
      {assign.error != null && <ErrorView error={assign.error} />}
    </div>
  );
}
