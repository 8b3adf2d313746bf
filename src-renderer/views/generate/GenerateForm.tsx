// The generate form: prompt, count, seed (locked or random), CFG, temperature, top-k and drawing by
// example (the model's example memory); Ctrl+Enter
// generates, Esc stops. Images draw progressively while the job runs, with a progress bar.
import { useState } from 'react';
import type { Model } from '../../../src-main/contract/api.ts';
import { useAction } from '../../api/hooks.ts';
import { useJobs } from '../../api/jobs.ts';
import { clearStream, ensureListening, registerStream, useStream } from '../../api/streams.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';
import { JobProgress } from '../../components/JobProgress.tsx';
import { useHotkey } from '../../lib/hotkeys.ts';
import { ProgressiveImage } from '../chat/ProgressiveImage.tsx';

export interface GenParams { prompt: string; n: number; seed: number | null; cfg: number; temperature: number; topK: number; examples: boolean }
const DEFAULTS: GenParams = { prompt: '', n: 4, seed: null, cfg: 3, temperature: 1, topK: 0, examples: true };
/** The form as last left, so switching views and back keeps it (like the stream, which lives on). */
let remembered: GenParams | null = null;

export function GenerateForm({ initial, models }: { initial?: GenParams; models: Model[] }) {
  const [p, setP] = useState<GenParams>(initial ?? remembered ?? DEFAULTS);
  remembered = p;
  const [locked, setLocked] = useState(initial?.seed != null);
  const [seedText, setSeedText] = useState(String(initial?.seed ?? 0));
  const [lastSeed, setLastSeed] = useState<number | null>(null);
  const [modelId, setModelId] = useState<number | null>(null);
  const [jobId, setJobId] = useState<number | null>(null);
  const stream = useStream('generate');
  const { jobs } = useJobs((j) => j.id === jobId);
  const busy = !!stream && !stream.finished;
  const set = (patch: Partial<GenParams>) => setP((x) => ({ ...x, ...patch }));
  const start = useAction(async () => {
    ensureListening();
    clearStream('generate');
    const r = await api.call('generate.start', {
      prompt: p.prompt.trim(), n: p.n, seed: locked ? Number(seedText) : null, cfg: p.cfg, temperature: p.temperature, topK: p.topK, examples: p.examples,
      modelId: modelId ?? models[0]?.id,
    });
    registerStream('generate', r.streamId);
    setJobId(r.jobId);
    setLastSeed(r.seed);
    if (!locked) setSeedText(String(r.seed));
  });
  const stop = useAction(async () => { if (stream) await api.call('streams.stop', { streamId: stream.streamId }); });
  useHotkey('mod+enter', () => { if (!busy && p.prompt.trim()) void start.run(); });
  useHotkey('escape', () => { if (busy) void stop.run(); }, busy);
  const job = jobs[0];
  return (
    <form className="gen-form card stack" onSubmit={(e) => { e.preventDefault(); if (!busy && p.prompt.trim()) void start.run(); }}>
      <div className="field">
        <label htmlFor="gen-prompt">Prompt</label>
        <textarea id="gen-prompt" rows={3} value={p.prompt} onChange={(e) => set({ prompt: e.target.value })} placeholder="a red apple" />
      </div>
      {models.length > 1 && (
        <div className="field">
          <label htmlFor="gen-model">Model</label>
          <select id="gen-model" value={modelId ?? models[0].id} onChange={(e) => setModelId(Number(e.target.value))}>
            {models.map((m) => <option key={m.id} value={m.id}>{m.name}</option>)}
          </select>
        </div>
      )}
      <div className="field-row">
        <div className="field"><label htmlFor="gen-n">Images</label><input id="gen-n" type="number" min={1} max={16} value={p.n} onChange={(e) => set({ n: clamp(Math.round(+e.target.value), 1, 16) })} /></div>
        <div className="field">
          <label htmlFor="gen-seed">Seed</label>
          <div className="row" style={{ flexWrap: 'nowrap' }}>
            <input id="gen-seed" type="number" min={0} className="grow" value={locked ? seedText : ''} placeholder="random" disabled={!locked} onChange={(e) => setSeedText(String(clamp(Math.floor(+e.target.value || 0), 0, 0xffffffff)))} />
            <button type="button" className="btn icon" aria-pressed={locked} aria-label={locked ? 'Seed locked: click for random seeds' : 'Random seed: click to lock'} title={locked ? 'Locked' : 'Random each time'} onClick={() => setLocked((l) => !l)}>
              <Icon name={locked ? 'lock' : 'dice'} />
            </button>
          </div>
          {!locked && lastSeed != null && <span className="hint">Last: {lastSeed}. Lock to repeat it.</span>}
        </div>
      </div>
      <Slider id="gen-cfg" label="Guidance (CFG)" min={1} max={20} step={0.5} value={p.cfg} onChange={(v) => set({ cfg: v })} hint="Higher follows the prompt more closely; 1 turns guidance off." />
      <Slider id="gen-temp" label="Temperature" min={0} max={2} step={0.05} value={p.temperature} onChange={(v) => set({ temperature: v })} hint="0 always picks the most likely code." />
      <Slider id="gen-topk" label="Top-k" min={0} max={512} step={1} value={p.topK} onChange={(v) => set({ topK: v })} hint="0 samples from every code." />
      <div className="field">
        <label className="row" htmlFor="gen-examples" style={{ flexWrap: 'nowrap' }}>
          <input id="gen-examples" type="checkbox" checked={p.examples} onChange={(e) => set({ examples: e.target.checked })} />
          Draw by example
        </label>
        <span className="hint">When the prompt names something the model's example memory holds images of, the model redraws one of them (unguided) instead of drawing from the words alone.</span>
      </div>
      <div className="row">
        {busy
          ? <button type="button" className="btn danger" onClick={() => void stop.run()}><Icon name="stop" />Stop <kbd>Esc</kbd></button>
          : <button type="submit" className="btn primary" disabled={!p.prompt.trim() || start.pending}><Icon name="image" />Generate <kbd>Ctrl ↵</kbd></button>}
        <button type="button" className="btn ghost" onClick={() => { setP(DEFAULTS); setLocked(false); }}>Reset</button>
      </div>
      {job && (job.status === 'running' || job.status === 'queued') && <JobProgress job={job} unit="images" />}
      {(start.error ?? stop.error) != null && <ErrorView error={start.error ?? stop.error} />}
      {stream?.error && <ErrorView title="The images could not be generated." error={stream.error} />}
      {stream?.finished && stream.reason !== 'aborted' && stream.stats && stream.stats.images > 0 && (
        <p className="faint" role="status" data-testid="generate-stats">
          Drew {stream.stats.images} image{stream.stats.images === 1 ? '' : 's'} in {stream.stats.seconds.toFixed(2)} s ({(stream.stats.seconds / stream.stats.images).toFixed(2)} s each) on {stream.stats.threads} thread{stream.stats.threads === 1 ? '' : 's'}.
        </p>
      )}
      {stream?.finished && stream.reason === 'aborted' && (
        <p className="faint" role="status" data-testid="generate-stopped">Stopped: {stream.images.filter((i) => i.url).length} of {stream.images.length || p.n} images were finished and kept in the gallery.</p>
      )}
      {stream && stream.images.length > 0 && (
        <div className="live-images" aria-label="Images being generated">
          {stream.images.filter((im) => im.url || !stream.finished).map((im) => <ProgressiveImage key={im.index} image={im} />)}
        </div>
      )}
    </form>
  );
}

function clamp(v: number, lo: number, hi: number): number {
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : lo;
}

function Slider({ id, label, min, max, step, value, onChange, hint }: { id: string; label: string; min: number; max: number; step: number; value: number; onChange: (v: number) => void; hint: string }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label} <span className="value">{value}</span></label>
      <input id={id} type="range" min={min} max={max} step={step} value={value} onChange={(e) => onChange(Number(e.target.value))} />
      <span className="hint">{hint}</span>
    </div>
  );
}
