"""scipy's generalized-Gaussian MLE (scipy.stats.gennorm.fit, default optimizer) on a seeded 1M sample of a
tensor, and both fits' mean log-likelihood over ALL values of the tensor (scipy's logpdf for both).
  gg_vs_scipy.py CHECKPOINT TENSOR OURS_JSON"""
import json, os, struct, sys, time
import numpy as np, ml_dtypes
from scipy import stats

DT = {"BF16": ml_dtypes.bfloat16, "F16": np.float16, "F32": np.float32}
path, name, ours = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
files = [os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith(".safetensors")] if os.path.isdir(path) else [path]
for fn in files:
    with open(fn, "rb") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        h = json.loads(fh.read(n))
    if name in h:
        b, e = h[name]["data_offsets"]
        x = np.memmap(fn, dtype=np.uint8, mode="r")[8 + n + b: 8 + n + e].view(DT[h[name]["dtype"]]).astype(np.float64)
        break
rng = np.random.default_rng(12345)
sample = x if x.size <= 1_000_000 else x[np.sort(rng.choice(x.size, 1_000_000, replace=False))]
runs = []
for _ in range(3):  # median of three fits
    t0 = time.perf_counter()
    beta, loc, scale = stats.gennorm.fit(sample)
    runs.append(time.perf_counter() - t0)
secs = sorted(runs)[1]
ll_scipy = float(stats.gennorm.logpdf(x, beta, loc, scale).mean())
ll_ours = float(stats.gennorm.logpdf(x, ours["beta"], ours["mu"], ours["alpha"]).mean())
print(json.dumps({"scipy_seconds": secs, "scipy_beta": beta, "scipy_loc": loc, "scipy_scale": scale, "sample": int(sample.size),
                  "n": int(x.size), "mean_loglik_all_scipy": ll_scipy, "mean_loglik_all_ours": ll_ours,
                  "ours_seconds": ours["seconds"], "ours_first_seconds": ours["first_seconds"], "speedup": secs / ours["seconds"]}))
