// Reverse-mode autodiff on the graph IR: walks the nodes between the wrt values and the loss in
// reverse order, calls each op's gradient rule (ops/*.ts) and appends the backward nodes to the same
// graph. Fan-out contributions are summed; an op without a rule is an error naming op and node.
// Nodes made by stopGradient (ops/nograd.ts) pass no gradient.
import { GraphError, fmtShape, isStatic, type Graph, type Node, type Value } from '../graph/graph.ts';
import { add, gradientStopped, opDef, scalar, expand, shapeOf } from '../graph/ops/index.ts';

/** Values that depend on any of `wrt` (forward reachability over the node list). */
function dependents(g: Graph, wrt: Value[]): Set<Value> {
  const dep = new Set<Value>(wrt);
  for (const n of g.nodes) if (n.inputs.some((x) => x && dep.has(x))) for (const o of n.outputs) dep.add(o);
  return dep;
}

/** Values the loss depends on (backward reachability). */
function ancestors(loss: Value): Set<Node> {
  const seen = new Set<Node>();
  const stack: Node[] = loss.producer ? [loss.producer] : [];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const x of n.inputs) if (x?.producer) stack.push(x.producer);
  }
  return seen;
}

function checkShape(node: Node, i: number, x: Value, gx: Value): void {
  const ok = gx.rank === x.rank && x.shape.every((d, k) => d === gx.shape[k] || typeof d !== 'number' || typeof gx.shape[k] !== 'number');
  if (!ok && isStatic(x.shape) && isStatic(gx.shape))
    throw new GraphError(`gradient rule of ${node.op} (node ${node.name}) returned ${fmtShape(gx.shape)} for input ${i} of shape ${fmtShape(x.shape)}`);
}

/**
 * d(loss)/d(w) for each w in wrt, as new values in loss's graph. `seed` is d(out)/d(loss) (default 1;
 * pass a value to backpropagate a given output gradient). A w that the loss does not depend on gets null.
 */
export function gradients(loss: Value, wrt: Value[], seed?: Value): (Value | null)[] {
  const g = loss.graph;
  if (!seed && loss.rank !== 0) throw new GraphError(`gradients: loss must be a scalar, got ${loss} (pass a seed for non-scalars)`);
  const dep = dependents(g, wrt);
  const live = ancestors(loss);
  const parts = new Map<Value, Value[]>();
  const sum = (v: Value): Value | null => {
    const p = parts.get(v);
    if (!p || p.length === 0) return null;
    const total = p.reduce((a, b) => add(a, b));
    parts.set(v, [total]);
    return total;
  };
  parts.set(loss, [seed ?? scalar(g, 1)]);

  return g.withScope('grad', () => {
    const order = g.nodes.filter((n) => live.has(n) && n.outputs.some((o) => dep.has(o)));
    for (let k = order.length - 1; k >= 0; k--) {
      const node = order[k];
      const gys = node.outputs.map(sum);
      if (gys.every((x) => x === null)) continue;
      const def = opDef(node.op);
      if (def?.noGrad || gradientStopped(node)) continue; // stopGradient (ops/nograd.ts) blocks the path
      if (!def?.grad) throw new GraphError(`no gradient rule for op ${node.op} (node ${node.name}); it lies between the loss and a trainable value`);
      const gxs = def.grad(node, gys);
      node.inputs.forEach((x, i) => {
        const gx = gxs[i];
        if (!x || !gx || !dep.has(x) || x.dtype !== 'float32') return;
        checkShape(node, i, x, gx);
        const list = parts.get(x) ?? [];
        list.push(gx);
        parts.set(x, list);
      });
    }
    return wrt.map((w) => {
      const gw = sum(w);
      // A gradient that was broadcast from a scalar seed may be smaller than w: expand it.
      return gw && gw.rank !== w.rank ? expand(gw, shapeOf(w)) : gw;
    });
  });
}
