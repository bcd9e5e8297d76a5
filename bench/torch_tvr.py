"""What a user would otherwise run: TVR (weight_rescaling's zscore rule) over a sharded checkpoint with torch,
shard by shard (load_file, rescale in float64, cast back, save_file), writing the same shard layout.

usage: torch_tvr.py IN_DIR OUT_DIR [target_std] [ratio_threshold]
Prints {"seconds", "bytes_in", "bytes_out", "rescaled"} as JSON.
"""
import sys, os, glob, json, time, re, shutil
import torch
from safetensors.torch import load_file, save_file

src, dst = sys.argv[1], sys.argv[2]
target = float(sys.argv[3]) if len(sys.argv) > 3 else 0.02
thr = float(sys.argv[4]) if len(sys.argv) > 4 else 1.2
block = re.compile(r"(?:^|\.)(layers|h|blocks|layer)\.(\d+)\.")
os.makedirs(dst, exist_ok=True)
t0 = time.time()
bytes_in = bytes_out = rescaled = 0
for f in sorted(glob.glob(os.path.join(src, "*.safetensors"))):
    bytes_in += os.path.getsize(f)
    sd = load_file(f)
    for k, w in sd.items():
        if w.dim() != 2 or not k.endswith(".weight") or not block.search(k) or "norm" in k:
            continue
        x = w.double()
        mu, sigma = x.mean(), x.std()
        if sigma > 0 and sigma / target > thr:
            sd[k] = ((x - mu) / sigma * target + mu).to(w.dtype)
            rescaled += 1
    out = os.path.join(dst, os.path.basename(f))
    save_file(sd, out, metadata={"format": "pt"})
    bytes_out += os.path.getsize(out)
for f in glob.glob(os.path.join(src, "*.json")):
    shutil.copy(f, dst)
print(json.dumps({"seconds": time.time() - t0, "bytes_in": bytes_in, "bytes_out": bytes_out, "rescaled": rescaled}))
