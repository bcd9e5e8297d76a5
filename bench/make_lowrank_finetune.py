"""A fine-tune of a base whose linear modules moved by a low-rank update, as LoRA-style or short full fine-tunes do
(the case extract-lora is for): per projection ΔW = Σ_{t<64} 0.9^t·s·u_t v_tᵀ (u, v Gaussian unit-ish, s = 0.02 of the
weight's std·√(out·in)/8) plus noise of 1e-3 of the weight's std, other tensors unchanged; stored in the base's dtype,
config copied. usage: make_lowrank_finetune.py BASE OUT"""
import json
import os
import shutil
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file

PROJ = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
base, out = sys.argv[1], sys.argv[2]
if os.path.exists(os.path.join(out, "config.json")):
    sys.exit(0)
idx = os.path.join(base, "model.safetensors.index.json")
shards = sorted(set(json.load(open(idx))["weight_map"].values())) if os.path.exists(idx) else ["model.safetensors"]
os.makedirs(out, exist_ok=True)
g = torch.Generator().manual_seed(77)
decay = 0.9 ** torch.arange(64, dtype=torch.float32)
for s in shards:
    tensors = {}
    with safe_open(os.path.join(base, s), "pt") as f:
        for n in f.keys():
            t = f.get_tensor(n)
            if t.ndim == 2 and any(n.endswith(p + ".weight") for p in PROJ):
                x = t.float()
                m, k = x.shape
                std = float(x.std())
                u = torch.randn(m, 64, generator=g) / m ** 0.5
                v = torch.randn(64, k, generator=g) / k ** 0.5
                x += (u * (decay * 0.02 * std * (m * k) ** 0.5 / 8)) @ v + torch.randn(x.shape, generator=g) * (1e-3 * std)
                t = x.to(t.dtype)
            tensors[n] = t
    save_file(tensors, os.path.join(out, s), metadata={"format": "pt"})
for extra in ("config.json", "model.safetensors.index.json"):
    if os.path.exists(os.path.join(base, extra)):
        shutil.copy(os.path.join(base, extra), out)
print(out)
