// Store rows → contract shapes that the runner emits as events (the API handlers use them too).
import { fileUrl, type Sample } from '../../contract/api.ts';
import type { SampleRow } from '../store/index.ts';

export function sampleToApi(r: SampleRow): Sample {
  return {
    id: r.id, jobId: r.jobId, step: r.step, kind: r.kind, text: r.text,
    url: r.kind === 'image' ? fileUrl('samples', r.id) : null, prompt: r.prompt, createdAt: r.createdAt,
  };
}
