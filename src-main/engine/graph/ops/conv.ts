// 2-D convolution (stride, padding, groups) and nearest-neighbour upsampling (Resize), with
// gradients in standard ops, and bilinear sampling at given points (GridSample, no gradient):
//   dX = ConvTranspose(dY, W) with the same stride/pads/groups and the output padding that restores H×W,
//     except at stride 1 with one group and 8 or more input channels: there dX = Conv(dY, W′) with
//     W′[c, m] the kernel W[m, c] turned 180° and pads k − 1 − p, which onnxruntime runs 1.5–5×
//     faster than its ConvTranspose at the image tokenizer's shapes (runs/s24 probe);
//   dW (one group, 8 or more input channels) = dYᵀ·P, P the im2col patches of X in channels-last
//     order, one row of kernel taps at a time: 1.5–2× faster than the form below at the shapes of
//     the image tokenizer and the semantic encoders (runs/s24 probe), for a transient P of
//     N·Ho·Wo·kw·C floats;
//   dW otherwise = a grouped Conv of X (batch moved to channels) with dY as the kernel, dilated by the stride;
//   upsample ×f backward = sum over each f×f block (Reshape + ReduceSum).
import { GraphError, staticShape, type Value } from '../graph.ts';
import { apply, attrInt, attrInts, defineOp, expectDType, ints } from './core.ts';
import { gather } from './gather.ts';
import { gemm } from './matmul.ts';
import { reduceSum } from './reduce.ts';
import { concat, reshape, slice, transpose, unsqueeze } from './shape.ts';

/** Input channels from which a one-group Conv's gradients take the im2col dW and the turned-kernel dX (below that the other forms are as fast). */
const IM2COL_MIN_CHANNELS = 8;


export interface ConvOpts {
  stride?: number;
  pad?: number;
  group?: number;
}

export function conv2d(x: Value, w: Value, b: Value | null, opts: ConvOpts = {}): Value {
  const s = opts.stride ?? 1;
  const p = opts.pad ?? 0;
  return apply('Conv', b ? [x, w, b] : [x, w], { strides: [s, s], pads: [p, p, p, p], group: opts.group ?? 1, dilations: [1, 1] });
}

/** Nearest-neighbour upsampling of (N, C, H, W) by an integer factor. */
export function upsampleNearest(x: Value, factor: number): Value {
  const g = x.graph;
  const scales = g.constant({ dtype: 'float32', shape: [4], data: Float32Array.of(1, 1, factor, factor) }, 'scales');
  return apply('Resize', [x, null, scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
}

/** A (M, C, kh, kw) kernel turned 180° in its spatial axes. */
function flip(w: Value, kh: number, kw: number): Value {
  const reversed = (k: number) => ints(w.graph, Array.from({ length: k }, (_, i) => k - 1 - i));
  return gather(gather(w, reversed(kh), 2), reversed(kw), 3);
}

/**
 * Bilinear samples of x (N, C, H, W) at grid (N, Ho, Wo, 2), each (x, y) in [−1, 1] from the first
 * pixel's centre to the last's (align_corners), zeros outside (GridSample, opset 16; forward only:
 * the training data's jitter, data/jitter-graph.ts).
 */
export function gridSample(x: Value, grid: Value): Value {
  return apply('GridSample', [x, grid], { mode: 'bilinear', padding_mode: 'zeros', align_corners: 1 });
}

function convGeometry(x: Value, w: Value, attrs: Record<string, unknown>, op: string) {
  const [, c, h, wd] = x.shape;
  const [m, cg, kh, kw] = w.shape;
  const group = attrInt(attrs as never, 'group', 1);
  const [sh, sw] = attrInts(attrs as never, 'strides', [1, 1]);
  const [pt, pl, pb, pr] = attrInts(attrs as never, 'pads', [0, 0, 0, 0]);
  const [dh, dw] = attrInts(attrs as never, 'dilations', [1, 1]);
  if (typeof h !== 'number' || typeof wd !== 'number') throw new GraphError(`${op}: spatial dims must be static, got ${x}`);
  if (typeof m !== 'number' || typeof kh !== 'number' || typeof kw !== 'number') throw new GraphError(`${op}: weight [${w.shape}] needs static out-channels and kernel size`);
  // (channel counts may be symbolic only in the weight-gradient convolution, where batch becomes channels)
  if ((typeof c === 'number' && typeof cg === 'number' && c !== cg * group) || m % group !== 0)
    throw new GraphError(`${op}: input ${x} and weight [${w.shape}] do not fit group=${group} (C=${c} must be ${cg}×${group})`);
  const ho = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const wo = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  if (ho <= 0 || wo <= 0) throw new GraphError(`${op}: kernel ${kh}×${kw} larger than padded input ${x}`);
  return { h, wd, m, cg, kh, kw, group, sh, sw, pt, pl, pb, pr, ho, wo, dilated: dh !== 1 || dw !== 1 };
}

defineOp({
  type: 'Conv',
  infer: (inputs, attrs, op) => {
    const [x, w, b] = inputs;
    expectDType(op, x!, 'float32');
    if (x!.rank !== 4 || w!.rank !== 4) throw new GraphError(`${op}: expects 4-D input and weight, got ${x} and ${w}`);
    const geo = convGeometry(x!, w!, attrs, op);
    if (b && (b.rank !== 1 || b.shape[0] !== geo.m)) throw new GraphError(`${op}: bias ${b} must be [${geo.m}]`);
    return [{ dtype: 'float32', shape: [x!.shape[0], geo.m, geo.ho, geo.wo] }];
  },
  grad: (n, [gy]) => {
    const [x, w, b] = n.inputs as Value[];
    const { h, wd, m, cg, kh, kw, group, sh, sw, pt, pl, pb, pr, ho, wo, dilated } = convGeometry(x, w, n.attrs, 'Conv');
    if (typeof cg !== 'number') throw new GraphError(`Conv gradient needs static channels, got weight [${w.shape}] (node ${n.name})`);
    if (dilated) throw new GraphError(`Conv gradient: dilated convolutions are not supported (node ${n.name})`);
    const outPad = [h - ((ho - 1) * sh - pt - pb + kh), wd - ((wo - 1) * sw - pl - pr + kw)];
    const wide = group === 1 && cg >= IM2COL_MIN_CHANNELS;
    const gx = wide && sh === 1 && sw === 1 && Math.max(pt, pb) < kh && Math.max(pl, pr) < kw
      ? apply('Conv', [gy!, transpose(flip(w, kh, kw), [1, 0, 2, 3])], { strides: [1, 1], pads: [kh - 1 - pt, kw - 1 - pl, kh - 1 - pb, kw - 1 - pr], group: 1, dilations: [1, 1] })
      : apply('ConvTranspose', [gy!, w], { strides: [sh, sw], pads: [pt, pl, pb, pr], group, output_padding: outPad });
    const gb = b ? reduceSum(gy!, [0, 2, 3]) : null;
    if (wide) {
      // dW[m, c, i, j] = Σ_{n,y,x} dY[n, m, y, x] · Xpad[n, c, sh·y + i, sw·x + j], kernel row i at a time:
      // the row's kw taps of the padded channels-last X, stacked tap-major, are P_i (N·Ho·Wo, kw·C).
      const xp = apply('Pad', [transpose(x, [0, 2, 3, 1]), ints(x.graph, [0, pt, pl, 0, 0, pb, pr, 0])]); // (N, H', W', C)
      const g2 = reshape(transpose(gy!, [0, 2, 3, 1]), [-1, m]); // (N·Ho·Wo, M)
      const rows: Value[] = [];
      for (let i = 0; i < kh; i++) {
        const taps: Value[] = [];
        for (let j = 0; j < kw; j++) taps.push(unsqueeze(slice(xp, [i, j], [i + sh * (ho - 1) + 1, j + sw * (wo - 1) + 1], [1, 2], [sh, sw]), [3]));
        rows.push(gemm(g2, reshape(taps.length === 1 ? taps[0] : concat(taps, 3), [-1, kw * cg]), null, { transA: true })); // (M, kw·C)
      }
      const gw = transpose(reshape(rows.length === 1 ? rows[0] : concat(rows, 1), [m, kh, kw, cg]), [0, 3, 1, 2]);
      return [gx, gw, gb];
    }
    // dW: channels-of-group × (group·batch) input, dY as a (M, batch, Ho, Wo) kernel, dilated by the stride.
    const xr = reshape(transpose(reshape(x, [-1, group, cg, h, wd]), [2, 1, 0, 3, 4]), [cg, -1, h, wd]); // (Cg, G·N, H, W)
    const mg = m / group;
    const gyr = reshape(transpose(reshape(gy!, [-1, group, mg, ho, wo]), [1, 2, 0, 3, 4]), [m, -1, ho, wo]); // (M, N, Ho, Wo)
    const full = apply('Conv', [xr, gyr], { strides: [1, 1], pads: [pt, pl, pb, pr], group, dilations: [sh, sw] }); // (Cg, M, kh', kw')
    const gw = transpose(slice(full, [0, 0], [kh, kw], [2, 3]), [1, 0, 2, 3]); // (M, Cg, kh, kw)
    return [gx, gw, gb];
  },
});

// ConvTranspose is emitted by the Conv gradient; as a forward op it has no rule of its own.
defineOp({
  type: 'ConvTranspose',
  infer: (inputs, attrs, op) => {
    const [x, w] = inputs as Value[];
    const [, cgOut, kh, kw] = staticShape(w, `${op} weight`);
    const group = attrInt(attrs, 'group', 1);
    const [sh, sw] = attrInts(attrs, 'strides', [1, 1]);
    const [pt, pl, pb, pr] = attrInts(attrs, 'pads', [0, 0, 0, 0]);
    const [oh, ow] = attrInts(attrs, 'output_padding', [0, 0]);
    const [n, , h, wd] = x.shape;
    if (typeof h !== 'number' || typeof wd !== 'number') throw new GraphError(`${op}: spatial dims must be static, got ${x}`);
    return [{ dtype: 'float32', shape: [n, cgOut * group, (h - 1) * sh - pt - pb + kh + oh, (wd - 1) * sw - pl - pr + kw + ow] }];
  },
});

defineOp({
  type: 'GridSample',
  infer: ([x, grid], _a, op) => {
    if (x!.rank !== 4 || grid!.rank !== 4 || grid!.shape[3] !== 2) throw new GraphError(`${op}: expects input (N, C, H, W) and grid (N, Ho, Wo, 2), got ${x} and ${grid}`);
    return [{ dtype: x!.dtype, shape: [x!.shape[0], x!.shape[1], grid!.shape[1], grid!.shape[2]] }];
  },
  noGrad: true,
});

defineOp({
  type: 'Resize',
  infer: (inputs, attrs, op) => {
    const [x, , scales] = inputs;
    if (attrs.mode !== 'nearest' || !scales) throw new GraphError(`${op}: only nearest mode with scales is supported`);
    const s = Array.from(x!.graph.consts.get(scales)!.data as Float32Array);
    if (s[0] !== 1 || s[1] !== 1 || s[2] !== s[3] || !Number.isInteger(s[2])) throw new GraphError(`${op}: only integer spatial scales are supported, got [${s}]`);
    const [n, c, h, w] = x!.shape;
    if (typeof h !== 'number' || typeof w !== 'number') throw new GraphError(`${op}: spatial dims must be static, got ${x}`);
    return [{ dtype: x!.dtype, shape: [n, c, h * s[2], w * s[3]] }];
  },
  grad: (n, [gy]) => {
    const x = n.inputs[0]!;
    const f = (x.graph.consts.get(n.inputs[2]!)!.data as Float32Array)[2];
    const [, , h, w] = x.shape as number[];
    const blocks = apply('Reshape', [gy!, ints(x.graph, [0, 0, h, f, w, f])]); // (N, C, H, f, W, f)
    return [reduceSum(blocks, [3, 5]), null, null];
  },
});
