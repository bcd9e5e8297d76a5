"""The merge loop mergekit runs, for the benchmark: one tensor at a time through safetensors' lazy loading, TIES or
DARE-TIES as mergekit's generalized_task_arithmetic.py and sparsify.py compute them (argsort top-k, torch.bernoulli,
L1 rescale, sum sign consensus), in float32 (mergekit with `dtype: float32`), cast to the base dtype, the output held
until it is saved as one shard (mergekit's writer holds up to 5 GB).
usage: torch_merge.py ties|dare_ties BASE OUT DENSITY W1,W2,... FT1 FT2 ..."""
import json
import os
import sys
import time

import torch
from safetensors import safe_open
from safetensors.torch import save_file

torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
method, base_dir, out_dir, density = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
weights = [float(w) for w in sys.argv[5].split(",")]
fts = sys.argv[6:]


def files(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        wm = json.load(open(idx))["weight_map"]
        return {n: os.path.join(d, f) for n, f in wm.items()}
    with safe_open(os.path.join(d, "model.safetensors"), "pt") as f:
        return {n: os.path.join(d, "model.safetensors") for n in f.keys()}


def magnitude(t, d):
    if d >= 1:
        return t
    k = int(d * t.numel())
    mask = torch.zeros_like(t)
    w = t.abs().view(-1).float()
    mask.view(-1)[torch.argsort(w, descending=True)[:k]] = 1
    return t * mask


def bernoulli(t, d):
    if d >= 1:
        return t
    mask = torch.bernoulli(torch.full_like(t, d))
    masked = t * mask
    before, after = t.abs().sum(), masked.abs().sum()
    return masked if before < 1e-7 or after < 1e-7 else masked * (before / after)


t0 = time.time()
torch.manual_seed(0)
names = files(base_dir)
maps = [files(d) for d in fts]
handles = {}


def get(path, name):
    if path not in handles:
        handles[path] = safe_open(path, "pt")
    return handles[path].get_tensor(name)


out = {}
for name, path in names.items():
    b = get(path, name)
    if not b.is_floating_point():
        out[name] = b
        continue
    bf = b.float()
    ds = []
    for w, m in zip(weights, maps):
        tau = get(m[name], name).float() - bf
        ds.append(w * (magnitude(tau, density) if method == "ties" else bernoulli(tau, density)))
    deltas = torch.stack(ds)
    del ds
    wt = torch.tensor(weights).view(-1, *([1] * bf.dim()))
    sign = (deltas.sum(0) >= 0).float() * 2 - 1
    mask = deltas.sign() == sign
    mix = (deltas * mask).sum(0)
    if method == "ties":  # normalize: true is ties' default, false dare_ties'
        div = (wt * mask).sum(0)
        div[div == 0] = 1
        mix = mix / div
    out[name] = (bf + mix).to(b.dtype)
    del deltas, mask, mix
os.makedirs(out_dir, exist_ok=True)
save_file(out, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
print(json.dumps({"tool": "torch-" + method, "seconds": time.time() - t0, "tensors": len(out)}))
