// Execution provider and threads: one count for background jobs (training, tokenizing, evaluation),
// one for chat, captions and drawing (batch-1 decoding, fastest on few threads). Providers that cannot run here are listed with the reason, and a
// request for one is refused with a sentence saying why (never a silent CPU fallback).
import { useEffect, useState } from 'react';
import { PROVIDERS } from '../../../src-main/contract/api.ts';
import { useAction, useQuery } from '../../api/hooks.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';

type Provider = (typeof PROVIDERS)[number];
const NAMES: Record<Provider, string> = { cpu: 'CPU', cuda: 'CUDA (NVIDIA)', dml: 'DirectML (Windows)', coreml: 'Core ML (macOS)', webgpu: 'WebGPU' };

export function RuntimePanel() {
  const q = useQuery('runtime.get', {});
  const [provider, setProvider] = useState<Provider>('cpu');
  const [threads, setThreads] = useState(1);
  const [inferenceThreads, setInferenceThreads] = useState(1);
  useEffect(() => { if (q.data) { setProvider(q.data.provider); setThreads(q.data.threads); setInferenceThreads(q.data.inferenceThreads); } }, [q.data]);
  const apply = useAction(async () => { const r = await api.call('runtime.set', { provider, threads, inferenceThreads }); q.set(() => r); });
  const info = q.data?.providers.find((p) => p.name === provider);
  const dirty = q.data && (q.data.provider !== provider || q.data.threads !== threads || q.data.inferenceThreads !== inferenceThreads);
  const n = (k: number) => `${k} thread${k === 1 ? '' : 's'}`;
  return (
    <form className="card stack" onSubmit={(e) => { e.preventDefault(); void apply.run(); }} aria-label="Runtime">
      <h3>Runtime</h3>
      {q.error != null && <ErrorView error={q.error} onRetry={q.reload} />}
      <div className="field-row">
        <div className="field">
          <label htmlFor="rt-provider">Execution provider</label>
          <select id="rt-provider" value={provider} onChange={(e) => { setProvider(e.target.value as Provider); apply.clear(); }}>
            {(q.data?.providers ?? []).map((p) => <option key={p.name} value={p.name}>{NAMES[p.name]}{p.available ? '' : ' — unavailable'}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="rt-threads">Training threads <span className="value">{threads}</span></label>
          <input id="rt-threads" type="range" min={1} max={q.data?.maxThreads ?? 1} value={threads} onChange={(e) => setThreads(Number(e.target.value))} />
          <span className="hint">Training, caching codes and evaluation.</span>
        </div>
        <div className="field">
          <label htmlFor="rt-inference-threads">Chat and drawing threads <span className="value">{inferenceThreads}</span></label>
          <input id="rt-inference-threads" type="range" min={1} max={q.data?.maxThreads ?? 1} value={inferenceThreads} onChange={(e) => setInferenceThreads(Number(e.target.value))} />
          <span className="hint">Replies and images come one token at a time; small models are fastest on 1 or 2.</span>
        </div>
      </div>
      {info && !info.available && apply.error == null && (
        <div className="alert warn" role="status"><div><strong>{NAMES[info.name]} is not available on this machine.</strong> {info.reason}</div></div>
      )}
      <div className="row">
        <button className="btn primary" type="submit" disabled={!dirty || apply.pending}>Apply</button>
        {q.data && <span className="faint">Now: {NAMES[q.data.provider]}, {n(q.data.threads)} for training, {n(q.data.inferenceThreads)} for chat and drawing</span>}
      </div>
      {apply.error != null && <ErrorView error={apply.error} />}
    </form>
  );
}
