"""Independent checks of `weightlab upcycle` (issue #9) with transformers.

usage: upcycle_check.py DENSE_DIR MOE_DIR G
Loads the dense model (LlamaForCausalLM) and the upcycled one (MixtralForCausalLM or Qwen2MoeForCausalLM) in float32, runs both on the
same tokens and reports the largest logit difference; checks the virtual-group oracles of docs/algorithms.md §6.3 on
the raw tensors: the G shards of group 0 concatenated and divided by G^(1/3) give the dense gate/up/down exactly,
and router rows within a group are identical. Prints JSON.
"""
import json, os, sys

import numpy as np
import torch
from wl_tensors import tensors
from transformers import AutoModelForCausalLM




dense_dir, moe_dir, g = sys.argv[1], sys.argv[2], int(sys.argv[3])
dense = AutoModelForCausalLM.from_pretrained(dense_dir, torch_dtype=torch.float32)
moe, info = AutoModelForCausalLM.from_pretrained(moe_dir, torch_dtype=torch.float32, output_loading_info=True)
ids = torch.tensor([[1, 5, 9, 200, 17, 3, 77, 1000, 42, 8]])
with torch.no_grad():
    a = dense(ids).logits
    b = moe(ids).logits
D, M = tensors(dense_dir), tensors(moe_dir)
cfg = json.load(open(os.path.join(moe_dir, "config.json")))
s = g ** (1.0 / 3.0)
exact, groups = True, True
qwen = cfg["model_type"] == "qwen2_moe"
expert = "mlp.experts.{}." if qwen else "block_sparse_moe.experts.{}."
n1, n3, n2 = ("gate_proj", "up_proj", "down_proj") if qwen else ("w1", "w3", "w2")
for l in range(cfg["num_hidden_layers"]):
    p = f"model.layers.{l}."
    e = cfg["num_experts"] if qwen else cfg["num_local_experts"]
    w1 = np.concatenate([M[p + expert.format(i) + n1 + ".weight"].astype(np.float64) for i in range(g)], axis=0) / s
    w3 = np.concatenate([M[p + expert.format(i) + n3 + ".weight"].astype(np.float64) for i in range(g)], axis=0) / s
    w2 = np.concatenate([M[p + expert.format(i) + n2 + ".weight"].astype(np.float64) for i in range(g)], axis=1) / s
    for got, want in ((w1, p + "mlp.gate_proj.weight"), (w3, p + "mlp.up_proj.weight"), (w2, p + "mlp.down_proj.weight")):
        exact &= bool(np.allclose(got, D[want].astype(np.float64), rtol=2e-7, atol=0))
    r = M[p + ("mlp.gate.weight" if qwen else "block_sparse_moe.gate.weight")]
    for x in range(e):
        groups &= bool(np.array_equal(r[x], r[(x // g) * g]))
    groups &= e == g or not np.array_equal(r[0], r[g])
print(json.dumps({"missing": list(info["missing_keys"]), "unexpected": list(info["unexpected_keys"]),
                  "max_abs_logit_diff": float((a - b).abs().max()), "max_abs_logit": float(a.abs().max()),
                  "shards_reassemble_dense": exact, "router_rows_shared_in_groups": groups, "class": type(moe).__name__}))
