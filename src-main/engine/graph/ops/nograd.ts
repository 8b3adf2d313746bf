// stopGradient(x): the value of x, through which autodiff sends no gradient (PyTorch's detach, JAX's
// stop_gradient). It emits a real ONNX Identity node and records that node here; autodiff/grad.ts
// asks gradientStopped(node) and skips it. Used by the straight-through estimator and the
// commitment / codebook losses of the vector quantizers (engine/quant/).
import type { Node, Value } from '../graph.ts';
import { apply } from './core.ts';

const stopped = new WeakSet<Node>();

export function stopGradient(x: Value): Value {
  const y = apply('Identity', [x]);
  stopped.add(y.producer!);
  return y;
}

/** True for nodes made by stopGradient: the backward pass passes nothing through them. */
export function gradientStopped(node: Node): boolean {
  return stopped.has(node);
}
