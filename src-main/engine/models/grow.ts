/**
 * Growing a trained unified LM: more decoder layers and/or a wider SwiGLU, starting from the same
 * function (block expansion, as in LLaMA Pro; Net2Net-style widening).
 *
 * - Depth: the base model's L layers keep their order and land at floor(j·L'/L); the new layers
 *   between them start with zero o_proj and down_proj, so each adds nothing to the residual stream
 *   until training moves those two matrices (their gradients are not zero: the attention and MLP
 *   outputs they multiply are not).
 * - Width: gate/up rows [I, I') are fresh and down_proj's columns [I, I') are zero, so
 *   down·(silu(gate·x) ⊙ up·x) is unchanged.
 * - The hidden size cannot grow: in UniCode the token table is the image tokenizer's codebook.
 * Every other tensor (embeddings, final norm, depth head) is copied as it is.
 */
import type { UnifiedConfig } from './unicode.ts';

export interface GrowSpec {
  num_hidden_layers: number;
  intermediate_size?: number;
}

export class GrowError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'GrowError';
  }
}

/** The grown architecture; throws when the spec would shrink the model. */
export function grownConfig(base: UnifiedConfig, spec: GrowSpec): UnifiedConfig {
  const L = spec.num_hidden_layers, I = spec.intermediate_size ?? base.intermediate_size;
  if (!Number.isInteger(L) || L < base.num_hidden_layers) throw new GrowError('num_hidden_layers', `${L} is below the base model's ${base.num_hidden_layers} (growing never removes layers)`);
  if (!Number.isInteger(I) || I < base.intermediate_size) throw new GrowError('intermediate_size', `${I} is below the base model's ${base.intermediate_size}`);
  return { ...base, num_hidden_layers: L, intermediate_size: I };
}

/** Where base layer j sits in the grown stack. */
export function grownLayerOf(j: number, baseLayers: number, layers: number): number {
  return Math.floor((j * layers) / baseLayers);
}

export interface BaseTensor { shape: readonly number[]; data: Float32Array }

/**
 * The grown model's value of parameter `name` (shape as the grown model has it), from the base
 * model's tensors; `fresh` draws the initial value of a parameter with no counterpart (the usual init).
 */
export function grownParam(
  base: UnifiedConfig, grown: UnifiedConfig, name: string, shape: readonly number[],
  baseTensor: (name: string) => BaseTensor | undefined, fresh: () => Float32Array,
): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  let from = name;
  if (m) {
    const i = Number(m[1]), rest = m[2];
    const j = baseLayerAt(i, base.num_hidden_layers, grown.num_hidden_layers);
    if (j < 0) return /(o_proj|down_proj)\.weight$/.test(rest) ? new Float32Array(n) : fresh();
    from = `model.layers.${j}.${rest}`;
  }
  const t = baseTensor(from);
  if (!t) throw new GrowError('base', `the base model has no '${from}' (for '${name}')`);
  if (t.shape.join() === shape.join()) return Float32Array.from(t.data);
  const I0 = base.intermediate_size, I1 = grown.intermediate_size, C = grown.hidden_size;
  if (m && /mlp\.(gate|up)_proj\.weight$/.test(m[2]) && t.shape.join() === `${I0},${C}` && shape.join() === `${I1},${C}`) {
    const out = fresh(); // rows [0, I0) from the base, the rest fresh
    out.set(t.data);
    return out;
  }
  if (m && /mlp\.down_proj\.weight$/.test(m[2]) && t.shape.join() === `${C},${I0}` && shape.join() === `${C},${I1}`) {
    const out = new Float32Array(n); // columns [I0, I1) stay zero
    for (let r = 0; r < C; r++) out.set(t.data.subarray(r * I0, (r + 1) * I0), r * I1);
    return out;
  }
  throw new GrowError('base', `'${from}' is [${t.shape}] in the base model, which cannot become [${shape}] by growing`);
}

/** The base layer that sits at grown layer i, or −1 for a new layer. */
function baseLayerAt(i: number, baseLayers: number, layers: number): number {
  for (let j = 0; j < baseLayers; j++) if (grownLayerOf(j, baseLayers, layers) === i) return j;
  return -1;
}
