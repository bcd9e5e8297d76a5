"""Writes a LLaMA-shaped BF16 checkpoint for benchmarks, sharded like the Hugging Face hub does it.
  make_bf16_checkpoint.py OUT_DIR [--hidden 2048] [--intermediate 5632] [--layers 8] [--vocab 32000] [--shard-gb 1]
Values: Gaussian with a per-module, layer-dependent std and a few heavy-tailed outliers in down_proj, so the
statistics have structure; seeded, so the same arguments give the same bytes."""
import argparse, json, os
import numpy as np
import ml_dtypes
from safetensors.numpy import save_file

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--hidden", type=int, default=2048)
p.add_argument("--intermediate", type=int, default=5632)
p.add_argument("--layers", type=int, default=8)
p.add_argument("--vocab", type=int, default=32000)
p.add_argument("--kv-heads", type=int, default=8)
p.add_argument("--heads", type=int, default=32)
p.add_argument("--shard-gb", type=float, default=1.0)
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
rng = np.random.default_rng(0)
h, f, hd = a.hidden, a.intermediate, a.hidden // a.heads
kv = a.kv_heads * hd

def t(shape, std, heavy=False):
    x = rng.standard_normal(shape, dtype=np.float32) * std
    if heavy:
        idx = rng.integers(0, x.size, size=max(1, x.size // 100000))
        x.flat[idx] *= 40
    return x.astype(ml_dtypes.bfloat16)

tensors = [("model.embed_tokens.weight", lambda: t((a.vocab, h), 0.02))]
for l in range(a.layers):
    s = 0.02 / np.sqrt(1 + l / 4)
    pre = f"model.layers.{l}."
    tensors += [
        (pre + "self_attn.q_proj.weight", lambda s=s: t((h, h), s)),
        (pre + "self_attn.k_proj.weight", lambda s=s: t((kv, h), s)),
        (pre + "self_attn.v_proj.weight", lambda s=s: t((kv, h), s * 0.5)),
        (pre + "self_attn.o_proj.weight", lambda s=s: t((h, h), s * 0.7)),
        (pre + "mlp.gate_proj.weight", lambda s=s: t((f, h), s)),
        (pre + "mlp.up_proj.weight", lambda s=s: t((f, h), s)),
        (pre + "mlp.down_proj.weight", lambda s=s: t((h, f), s * 0.7, heavy=True)),
        (pre + "input_layernorm.weight", lambda: (1 + 0.05 * rng.standard_normal(h, dtype=np.float32)).astype(ml_dtypes.bfloat16)),
        (pre + "post_attention_layernorm.weight", lambda: (1 + 0.05 * rng.standard_normal(h, dtype=np.float32)).astype(ml_dtypes.bfloat16)),
    ]
tensors += [("model.norm.weight", lambda: np.ones(h, dtype=ml_dtypes.bfloat16)),
            ("lm_head.weight", lambda: t((a.vocab, h), 0.02))]

limit = int(a.shard_gb * 1e9)
shards, cur, size = [], {}, 0
for name, make in tensors:
    x = make()
    if cur and size + x.nbytes > limit:
        shards.append(cur)
        cur, size = {}, 0
    cur[name] = x
    size += x.nbytes
shards.append(cur)
weight_map, total = {}, 0
for i, sh in enumerate(shards):
    fn = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
    save_file(sh, os.path.join(a.out, fn), metadata={"format": "pt"})
    for k, v in sh.items():
        weight_map[k] = fn
        total += v.nbytes
with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as fh:
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, fh, indent=2)
print(json.dumps({"tensors": len(weight_map), "bytes": total, "shards": len(shards)}))
