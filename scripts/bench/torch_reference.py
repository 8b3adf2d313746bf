# The reference for `bench engine`, measured instead of quoted: PyTorch (Debian's python3-torch
# 1.13, with libopenblas0-pthread) training and decoding the bench's LM configuration on this machine,
# so that Tessera's figures can be set against it in the same hour. Not a dependency of the app.
#
#   /usr/bin/python3 scripts/bench/torch_reference.py [--rounds 3] [--train-steps 4]
#
# Prints one JSON object: train_tokens_per_s (AdamW steps on B=8, T=256, median of the rounds) and
# decode_tokens_per_s (batch-1 greedy decoding of 200 tokens from an empty cache with a preallocated
# KV cache of 256 slots, median of the rounds), with 2 threads, as `bench engine` runs.
# The model is the float32 form of the LLaMA reference in scripts/fixtures/llama_tiny.py (its forward
# is used for training); the cached decode step is below, checked against that forward at start.
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures'))
import llama_tiny  # noqa: E402  (sets float64 as the default dtype; reset below)

torch.set_default_dtype(torch.float32)
_rope64 = llama_tiny.rope_cos_sin
llama_tiny.rope_cos_sin = lambda T, hd, theta: tuple(t.float() for t in _rope64(T, hd, theta))

# bench engine's BENCH_LM (src-main/engine/bench/engine.ts)
CONFIG = dict(llama_tiny.CONFIG, vocab_size=4096, hidden_size=384, num_hidden_layers=8, num_attention_heads=6,
              num_key_value_heads=6, head_dim=64, intermediate_size=1024, max_position_embeddings=256)
B, T, THREADS = 8, 256, 2


def init_params(cfg):
    torch.manual_seed(0)
    return {name: (torch.ones(shape) if kind == 'norm' else torch.randn(shape) * 0.02).requires_grad_(True)
            for name, shape, kind in llama_tiny.param_specs(cfg)}


def train_tokens_per_s(params, steps):
    opt = torch.optim.AdamW(list(params.values()), lr=1e-3, weight_decay=0.1)
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(0, CONFIG['vocab_size'], (B, T), generator=g)

    def step():
        logits, _ = llama_tiny.forward(params, ids, CONFIG)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, CONFIG['vocab_size']), ids.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        opt.step()

    step()  # warm up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return B * T * steps / (time.perf_counter() - t0)


@torch.inference_mode()
def decode(params, tokens, trace=None):
    """Greedy decoding from token 1; returns tokens/s. `trace` (a list) receives each step's logits."""
    c = CONFIG
    H, hd, L, S, eps = c['num_attention_heads'], c['head_dim'], c['num_hidden_layers'], c['max_position_embeddings'], c['rms_norm_eps']
    w = {k: v.detach() for k, v in params.items()}
    cos, sin = llama_tiny.rope_cos_sin(S, hd, c['rope_theta'])
    kc = torch.zeros(L, H, S, hd)
    vc = torch.zeros(L, H, S, hd)
    rope = lambda x, p: x * cos[p] + llama_tiny.rotate_half(x) * sin[p]
    token = 1
    t0 = time.perf_counter()
    for pos in range(tokens):
        h = w['model.embed_tokens.weight'][token]
        for i in range(L):
            p = f'model.layers.{i}.'
            x = llama_tiny.rms_norm(h, w[p + 'input_layernorm.weight'], eps)
            q = rope((w[p + 'self_attn.q_proj.weight'] @ x).view(H, hd), pos)
            kc[i, :, pos] = rope((w[p + 'self_attn.k_proj.weight'] @ x).view(H, hd), pos)
            vc[i, :, pos] = (w[p + 'self_attn.v_proj.weight'] @ x).view(H, hd)
            scores = torch.einsum('hd,hsd->hs', q, kc[i, :, :pos + 1]) / math.sqrt(hd)
            ctx = torch.einsum('hs,hsd->hd', torch.softmax(scores, -1), vc[i, :, :pos + 1])
            h = h + w[p + 'self_attn.o_proj.weight'] @ ctx.reshape(-1)
            x = llama_tiny.rms_norm(h, w[p + 'post_attention_layernorm.weight'], eps)
            gate = torch.nn.functional.silu(w[p + 'mlp.gate_proj.weight'] @ x)
            h = h + w[p + 'mlp.down_proj.weight'] @ (gate * (w[p + 'mlp.up_proj.weight'] @ x))
        logits = w['model.embed_tokens.weight'] @ llama_tiny.rms_norm(h, w['model.norm.weight'], eps)
        if trace is not None:
            trace.append((token, logits.clone()))
        token = int(logits.argmax())
    return tokens / (time.perf_counter() - t0)


def check_decode(params, tokens=24):
    """The cached decode step against the fixture's full forward over the same tokens: max |Δ logits|."""
    trace = []
    decode(params, tokens, trace)
    ids = torch.tensor([[t for t, _ in trace]])
    with torch.inference_mode():
        full, _ = llama_tiny.forward({k: v.detach() for k, v in params.items()}, ids, CONFIG)
    return max(float((full[0, i] - l).abs().max()) for i, (_, l) in enumerate(trace))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--train-steps', type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(THREADS)
    params = init_params(CONFIG)
    err = check_decode(params)  # also the warm-up
    if err > 1e-4:
        sys.exit(f'torch_reference: the cached decode step disagrees with the full forward by {err:.2e}')
    train, decoding = [], []
    for _ in range(args.rounds):
        train.append(train_tokens_per_s(params, args.train_steps))
        decoding.append(decode(params, 200))
    print(json.dumps({
        'train_tokens_per_s': round(statistics.median(train), 1), 'train_range': [round(min(train), 1), round(max(train), 1)],
        'decode_tokens_per_s': round(statistics.median(decoding), 1), 'decode_range': [round(min(decoding), 1), round(max(decoding), 1)],
        'decode_check_max_abs_diff': float(f'{err:.2e}'), 'torch': torch.__version__, 'threads': THREADS, 'rounds': args.rounds,
    }))


if __name__ == '__main__':
    main()
