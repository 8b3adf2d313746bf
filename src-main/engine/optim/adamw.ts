// AdamW as graph nodes: global-norm clipping, decoupled weight decay, bias correction fed as inputs.
//   g ← g·scale·min(1, clip/‖g‖);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − lr·s·(m/bc1 / (√(v/bc2) + ε) + wd·p)        (s: the parameter group's lr scale)
import type { Graph, Value } from '../graph/graph.ts';
import { add, div, max2, min2, mul, reduceSum, scalar, sqrt, sub } from '../graph/ops/index.ts';

export interface AdamWConfig {
  betas?: [number, number];
  eps?: number;
  /** Clip the global gradient norm to this value (null: no clipping). */
  clipNorm?: number | null;
}

export interface ParamSlot {
  name: string;
  param: Value;
  grad: Value;
  m: Value;
  v: Value;
  weightDecay: number;
  lrScale: number;
}

export interface AdamWInputs {
  lr: Value;
  bc1: Value;
  bc2: Value;
  /** Multiplies every gradient first (1/accumulation steps). */
  gradScale: Value;
}

export function adamwInputs(g: Graph): AdamWInputs {
  return {
    lr: g.input('opt.lr', 'float32', []),
    bc1: g.input('opt.bc1', 'float32', []),
    bc2: g.input('opt.bc2', 'float32', []),
    gradScale: g.input('opt.grad_scale', 'float32', []),
  };
}

/** Emit the update; returns the gradient norm (before clipping) and the new p, m, v per slot. */
export function adamwUpdate(g: Graph, slots: ParamSlot[], inp: AdamWInputs, cfg: AdamWConfig) {
  const [b1, b2] = cfg.betas ?? [0.9, 0.95];
  const eps = cfg.eps ?? 1e-8;
  const grads = slots.map((s) => mul(s.grad, inp.gradScale));
  const sq = grads.map((gr) => reduceSum(mul(gr, gr), []));
  const norm = sqrt(sq.reduce((a, b) => add(a, b)));
  const clip = cfg.clipNorm ? min2(div(scalar(g, cfg.clipNorm), max2(norm, 1e-6)), 1) : null;
  const out = slots.map((s, i) => {
    const gr = clip ? mul(grads[i], clip) : grads[i];
    const m = add(mul(s.m, b1), mul(gr, 1 - b1));
    const v = add(mul(s.v, b2), mul(mul(gr, gr), 1 - b2));
    const stepDir = div(div(m, inp.bc1), add(sqrt(div(v, inp.bc2)), eps));
    const withDecay = s.weightDecay ? add(stepDir, mul(s.param, s.weightDecay)) : stepDir;
    const lr = s.lrScale === 1 ? inp.lr : mul(inp.lr, s.lrScale);
    return { name: s.name, p: sub(s.param, mul(withDecay, lr)), m, v };
  });
  return { norm, out };
}

export function biasCorrections(step: number, cfg: AdamWConfig): { bc1: number; bc2: number } {
  const [b1, b2] = cfg.betas ?? [0.9, 0.95];
  return { bc1: 1 - b1 ** (step + 1), bc2: 1 - b2 ** (step + 1) };
}
