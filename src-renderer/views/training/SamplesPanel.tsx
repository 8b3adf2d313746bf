// Samples produced during training: generated images and captions, newest first, with their step.
import type { Sample } from '../../../src-main/contract/api.ts';
import { mediaUrl } from '../../api/transport.ts';

export function SamplesPanel({ samples }: { samples: Sample[] }) {
  if (samples.length === 0) return null;
  return (
    <div className="card">
      <div className="card-head"><h3>Samples</h3><span className="faint">{samples.length}</span></div>
      <div className="samples">
        {samples.slice(0, 24).map((s) => (
          <figure key={s.id} className="sample">
            {s.kind === 'image' && s.url ? <img src={mediaUrl(s.url)} alt={s.prompt ?? ''} /> : <blockquote>{s.text}</blockquote>}
            <figcaption><span className="badge neutral">step {s.step}</span> {s.prompt}</figcaption>
          </figure>
        ))}
      </div>
    </div>
  );
}
