// The unified model's composite pieces against central finite differences (the engine's gradcheck
// harness): the aggregated image embedding (Gather of D codes from the shared table, weighted
// ReduceSum) and the depth head (prefix sums of code embeddings, causal attention over D, tied
// image rows of the embedding table), with respect to the table, the context and every weight.
import { describe, expect, it } from 'vitest';
import { checkCase } from '../../src-main/engine/autodiff/gradcheck.ts';
import type { Value } from '../../src-main/engine/graph/graph.ts';
import { aggregateEmbed, depthHead, type UnifiedConfig } from '../../src-main/engine/models/unicode.ts';

export const tinyConfig = (over: Partial<UnifiedConfig> = {}): UnifiedConfig => ({
  model_type: 'tessera_unicode', vocab_size: 24, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1,
  intermediate_size: 12, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true, max_position_embeddings: 64,
  image_positions: 4, image_depth: 3, image_first_token_id: 16, image_codebook_size: 8, image_token_offset: 16,
  image_head: 'depth', codebook_mode: 'unified', depth_head_layers: 1, depth_head_heads: 2, depth_head_intermediate_size: 10, ...over,
});

describe('unified model pieces: gradients vs finite differences', () => {
  it('aggregated embedding: Σ_d w·E[ids] (w.r.t. the table)', async () => {
    const r = await checkCase({
      name: 'aggregateEmbed', ops: [],
      // ids repeat on purpose (the same code at two depths / two positions must accumulate)
      inputs: [{ shape: [6, 4] }, { shape: [2, 3, 2], int: 6, values: [1, 1, 2, 0, 5, 3, 4, 4, 0, 2, 3, 1] }],
      build: ([E, ids]) => {
        const w = E.graph.constant({ dtype: 'float32', shape: [2, 3, 2], data: Float32Array.from([1, 1, 1, 0, 1, 1, 0.5, 1, 1, 0, 1, 1]) }, 'w');
        return aggregateEmbed(E, ids, w);
      },
    });
    console.log(`aggregateEmbed: ${r.checked} checks, max rel err ${r.maxRelErr.toExponential(2)}`);
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
  });

  it('depth head: logits w.r.t. the context, the shared table and every head weight', async () => {
    const c = tinyConfig();
    const [C, D, I] = [c.hidden_size, c.image_depth, c.depth_head_intermediate_size];
    const shapes: [string, number[]][] = [
      ['model.embed_tokens.weight', [c.vocab_size, C]], ['depth_head.norm_in.weight', [C]], ['depth_head.in_proj.weight', [C, C]], ['depth_head.pos_embed', [D, C]],
      ['depth_head.layers.0.input_layernorm.weight', [C]], ...['q', 'k', 'v', 'o'].map((n): [string, number[]] => [`depth_head.layers.0.self_attn.${n}_proj.weight`, [C, C]]),
      ['depth_head.layers.0.post_attention_layernorm.weight', [C]], ['depth_head.layers.0.mlp.gate_proj.weight', [I, C]], ['depth_head.layers.0.mlp.up_proj.weight', [I, C]],
      ['depth_head.layers.0.mlp.down_proj.weight', [C, I]], ['depth_head.norm.weight', [C]],
    ];
    const N = 3;
    const r = await checkCase({
      name: 'depthHead', ops: [],
      inputs: [{ shape: [N, C] }, { shape: [N, D], int: c.vocab_size, values: [16, 17, 23, 20, 20, 16, 18, 22, 19] }, ...shapes.map(([, s]) => ({ shape: s }))],
      build: ([ctx, codes, ...ws]) => {
        const byName = new Map<string, Value>(shapes.map(([n], i) => [n, ws[i]]));
        const logits = depthHead((name, shape) => {
          const v = byName.get(name);
          if (!v || v.shape.join() !== shape.join()) throw new Error(`unexpected weight ${name} [${shape}]`);
          return v;
        }, c, ctx, codes);
        expect(logits.shape).toEqual([N, D, c.image_codebook_size]);
        return logits;
      },
      tol: 2e-2,
    });
    console.log(`depthHead: ${r.checked} checks, max rel err ${r.maxRelErr.toExponential(2)}`);
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
  });
});
