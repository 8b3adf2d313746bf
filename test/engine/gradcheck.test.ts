// Every gradient rule against central finite differences (the same check as `tessera gradcheck`),
// plus the errors a model author sees: a missing rule, a shape mismatch, a bad reshape.
import { describe, expect, it } from 'vitest';
import { gradCases } from '../../src-main/engine/autodiff/cases.ts';
import { runGradcheck } from '../../src-main/engine/autodiff/gradcheck.ts';
import { gradients } from '../../src-main/engine/autodiff/grad.ts';
import { Graph } from '../../src-main/engine/graph/graph.ts';
import * as op from '../../src-main/engine/graph/ops/index.ts';

describe('gradcheck', () => {
  it('passes for every op with a gradient rule', async () => {
    const report = await runGradcheck(gradCases);
    console.log(`gradcheck: ${report.ops} ops, ${report.cases.length} cases, max rel err ${report.max_rel_err.toExponential(2)}`);
    expect(report.failed).toEqual([]);
    expect(report.ops).toBeGreaterThanOrEqual(45);
    expect(report.max_rel_err).toBeLessThan(1e-2);
  });

  it('detects a wrong gradient rule', async () => {
    // A deliberately wrong "gradient": the check must fail, or it proves nothing.
    const { checkCase } = await import('../../src-main/engine/autodiff/gradcheck.ts');
    const r = await checkCase({ name: 'wrong', ops: [], inputs: [{ shape: [3] }], build: ([x]) => op.add(op.mul(x, x), op.mul(op.cast(op.greater(x, 100), 'float32'), x)) });
    expect(r.ok).toBe(true);
    const bad = await checkCase({ name: 'stop-gradient', ops: [], inputs: [{ shape: [3] }], build: ([x]) => op.mul(op.cast(op.cast(op.mul(x, 1000), 'int64'), 'float32'), x) });
    expect(bad.ok).toBe(false);
  });
});

describe('build-time errors', () => {
  it('names the op and both shapes on a mismatch', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [4, 5]);
    expect(() => op.matmul(a, b)).toThrow(/MatMul: inner dims differ: \[2,3\] @ \[4,5\] \(3 vs 4\)/);
    expect(() => op.add(a, g.input('c', 'float32', [4]))).toThrow(/Add: shapes \[2,3\] and \[4\] do not broadcast/);
    expect(() => op.reshape(a, [4, -1])).toThrow(/cannot reshape \[2,3\]/);
  });

  it('names the op and node when a gradient rule is missing', () => {
    const g = new Graph();
    const w = g.param('w', [2, 3, 3, 3]);
    const x = g.input('x', 'float32', [1, 2, 4, 4]);
    const y = op.apply('ConvTranspose', [x, w], { strides: [1, 1], pads: [0, 0, 0, 0] });
    expect(() => gradients(op.reduceSum(y, []), [w])).toThrow(/no gradient rule for op ConvTranspose \(node ConvTranspose\)/);
  });

  it('keeps symbolic dims through reshapes', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['B', 'T', 8]);
    const y = op.reshape(x, [-1, 8]);
    expect(y.shape).toEqual(['B*T', 8]);
    expect(op.reshape(y, [0, 2, 4]).shape).toEqual(['B*T', 2, 4]);
    expect(op.matmul(x, g.param('w', [8, 3])).shape).toEqual(['B', 'T', 3]);
  });
});
