// Generate: a prompt and sampling settings on the left, images drawing live and the gallery of
// everything generated (with its parameters) on the right.
import { useState } from 'react';
import type { Generation } from '../../../src-main/contract/api.ts';
import { useQuery } from '../../api/hooks.ts';
import { useNav } from '../../lib/nav.ts';
import { Gallery } from './Gallery.tsx';
import { GenerateForm, type GenParams } from './GenerateForm.tsx';
import './generate.css';

export function GenerateView() {
  const go = useNav();
  const models = useQuery('models.list', {});
  const [reuse, setReuse] = useState<{ params: GenParams; n: number } | null>(null); // n: one more per click, so the form resets each time
  const unified = (models.data?.models ?? []).filter((m) => m.kind === 'unified');
  return (
    <section className="view" aria-label="Generate">
      <header className="view-head">
        <h1>Generate</h1>
        <p>Draw images from text with the unified model.</p>
      </header>
      {models.data && unified.length === 0 && (
        <div className="banner alert warn" role="status">
          <div><strong>No unified model is installed,</strong> so images cannot be generated yet. <button className="btn small" onClick={() => go('models')}>Open Models</button></div>
        </div>
      )}
      <div className="gen-layout">
        <GenerateForm key={reuse ? `reuse-${reuse.n}` : 'new'} initial={reuse?.params} models={unified} />
        <Gallery onReuse={(g) => setReuse((r) => ({ params: paramsOf(g), n: (r?.n ?? 0) + 1 }))} />
      </div>
    </section>
  );
}

export function paramsOf(g: Generation): GenParams {
  const p = g.params;
  const num = (k: string, d: number) => (typeof p[k] === 'number' ? (p[k] as number) : d);
  // the same count as the original batch: with its seed, image `index` comes out the same again
  return { prompt: g.prompt, n: Math.min(16, Math.max(1, num('n', 1))), seed: typeof p.seed === 'number' ? p.seed : null, cfg: num('cfg', 3), temperature: num('temperature', 1), topK: num('topK', 0), examples: p.examples !== false };
}
