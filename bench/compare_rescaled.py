"""Element-wise agreement of two rescaled checkpoints (tensor by tensor, any sharding): fraction of differing
elements and the largest difference in units of the tensor's std. usage: compare_rescaled.py A_DIR B_DIR"""
import sys, os, glob, json
import torch
from safetensors import safe_open

def index(d):
    m = {}
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        with safe_open(f, "pt") as h:
            for k in h.keys():
                m[k] = f
    return m

a, b = index(sys.argv[1]), index(sys.argv[2])
assert set(a) == set(b), set(a) ^ set(b)
diff = total = 0
worst = 0.0
for k in sorted(a):
    with safe_open(a[k], "pt") as ha, safe_open(b[k], "pt") as hb:
        x, y = ha.get_tensor(k), hb.get_tensor(k)
    assert x.dtype == y.dtype and x.shape == y.shape, k
    ne = (x != y)
    n = int(ne.sum())
    total += x.numel()
    if n:
        diff += n
        d = (x.double() - y.double()).abs().max().item() / max(x.double().std().item(), 1e-300)
        worst = max(worst, d)
print(json.dumps({"tensors": len(a), "elements": total, "differing": diff, "differing_fraction": diff / total,
                  "max_diff_in_std": worst}))
