"""K "fine-tunes" of a base for the merge benchmark: every floating tensor plus Gaussian noise of 0.05 of its own std
(seeded per model), stored in the base's dtype, config copied. usage: make_finetunes.py BASE OUT_PREFIX K"""
import json
import os
import shutil
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file

base, prefix, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
idx = os.path.join(base, "model.safetensors.index.json")
shards = sorted(set(json.load(open(idx))["weight_map"].values())) if os.path.exists(idx) else ["model.safetensors"]
for i in range(k):
    d = "%s%d" % (prefix, i)
    if os.path.exists(os.path.join(d, "config.json")):
        continue
    os.makedirs(d, exist_ok=True)
    g = torch.Generator().manual_seed(1000 + i)
    for s in shards:
        out = {}
        with safe_open(os.path.join(base, s), "pt") as f:
            for n in f.keys():
                t = f.get_tensor(n)
                if t.is_floating_point() and t.numel() > 1:
                    x = t.float()
                    x += torch.randn(x.shape, generator=g) * (0.05 * float(x.std()))
                    t = x.to(t.dtype)
                out[n] = t
        save_file(out, os.path.join(d, s), metadata={"format": "pt"})
    for extra in ("config.json", "model.safetensors.index.json"):
        if os.path.exists(os.path.join(base, extra)):
            shutil.copy(os.path.join(base, extra), d)
    print(d)
