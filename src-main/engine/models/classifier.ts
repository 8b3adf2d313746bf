// A small convolutional image classifier (the engine's end-to-end learning check and demo):
// conv3×3 → SiLU → conv3×3/2 → GroupNorm → SiLU → conv3×3/2 → SiLU → global mean → linear.
// x (B, C, H, W) in [0, 1] → logits (B, classes).
import type { Graph, Value } from '../graph/graph.ts';
import * as op from '../graph/ops/index.ts';
import { crossEntropy, groupNorm, silu } from '../nn/functional.ts';
import { conv, linear } from '../nn/layers.ts';
import type { Rng } from '../util/rng.ts';

export interface ClassifierConfig {
  channels: number;
  height: number;
  width: number;
  classes: number;
  width_mult?: number;
}

export function classifierLogits(g: Graph, c: ClassifierConfig, x: Value): Value {
  const w = 16 * (c.width_mult ?? 1);
  let h = silu(conv(g, 'conv1', op.sub(x, 0.5), c.channels, w, 3)); // (B, w, H, W)
  h = conv(g, 'conv2', h, w, 2 * w, 3, { stride: 2 }); // (B, 2w, H/2, W/2)
  h = silu(groupNorm(h, 4, g.param('norm2.weight', [2 * w]), g.param('norm2.bias', [2 * w])));
  h = silu(conv(g, 'conv3', h, 2 * w, 4 * w, 3, { stride: 2 })); // (B, 4w, H/4, W/4)
  const pooled = op.reduceMean(h, [2, 3]); // (B, 4w)
  return linear(g, 'head', pooled, 4 * w, c.classes, true); // (B, classes)
}

/** Training graph: inputs `pixels` (B, C, H, W) and `labels` (B); loss = mean cross-entropy. */
export function classifierTrainGraph(g: Graph, c: ClassifierConfig) {
  const x = g.input('pixels', 'float32', ['B', c.channels, c.height, c.width]);
  const y = g.input('labels', 'int64', ['B']);
  const logits = classifierLogits(g, c, x);
  return { loss: crossEntropy(logits, y), logits };
}

/** He-style init for convs/linears, ones/zeros for norms, zero biases. */
export function classifierInit(name: string, shape: number[], rng: Rng): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith('.bias')) return new Float32Array(n);
  if (name.startsWith('norm')) return new Float32Array(n).fill(1);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  return rng.fillNormal(new Float32Array(n), Math.sqrt(2 / fanIn));
}
