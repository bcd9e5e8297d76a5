"""The loop mergekit's extract_lora.py runs, in torch on the CPU: per linear projection, lazily loaded, ΔW = W_ft − W_base
in fp32, the reduced SVD torch.linalg.svd(ΔW, full_matrices=False), the top r as A = √S·Vh, B = U·√S, saved as one
safetensors file; prints JSON {module: residual energy √(Σ_{i>r} S²/ΣS²)} and the SVD seconds.
usage: torch_extract_lora.py BASE FINETUNE OUT R"""
import glob
import json
import os
import sys
import time

import torch
from safetensors import safe_open
from safetensors.torch import save_file

PROJ = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
base, ft, out, r = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


def handles(d):
    m = {}
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        h = safe_open(f, "pt")
        for n in h.keys():
            m[n] = h
    return m


hb, hf = handles(base), handles(ft)
lora, residual, svd_seconds = {}, {}, 0.0
for n in sorted(hf):
    if not any(n.endswith(p + ".weight") for p in PROJ):
        continue
    d = hf[n].get_tensor(n).float() - hb[n].get_tensor(n).float()
    t0 = time.perf_counter()
    u, s, vh = torch.linalg.svd(d, full_matrices=False)
    svd_seconds += time.perf_counter() - t0
    k = min(r, s.numel())
    root = s[:k].sqrt()
    module = n[: -len(".weight")]
    lora["base_model.model." + module + ".lora_A.weight"] = (root[:, None] * vh[:k]).contiguous()
    lora["base_model.model." + module + ".lora_B.weight"] = (u[:, :k] * root[None, :]).contiguous()
    e = s.double() ** 2
    residual[module] = float((e[k:].sum() / e.sum()).sqrt())
os.makedirs(out, exist_ok=True)
save_file(lora, os.path.join(out, "adapter_model.safetensors"))
print(json.dumps({"modules": residual, "svd_seconds": svd_seconds, "threads": torch.get_num_threads()}))
