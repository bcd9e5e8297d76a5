"""The baseline a user would write: the same per-tensor statistics with numpy, one tensor at a time.
  numpy_stats.py CHECKPOINT_DIR [--no-quantiles]
Reads each shard's header, memory-maps the data (the fastest numpy route; BF16 through ml_dtypes), upcasts a
tensor to float64 and computes count, mean, std, skewness, excess kurtosis, min, max, L1, L2, zero fraction,
NaN/Inf counts and the 1/5/25/50/75/95/99 % quantiles (method="inverted_cdf", as WeightLab defines them).
Prints one JSON line: seconds, bytes, tensors, and the per-tensor numbers for cross-checking."""
import json, os, struct, sys, time
import numpy as np
import ml_dtypes

DT = {"BF16": ml_dtypes.bfloat16, "F16": np.float16, "F32": np.float32, "F64": np.float64, "I8": np.int8, "U8": np.uint8,
      "I64": np.int64, "I32": np.int32}
Q = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
d = sys.argv[1]
quantiles = "--no-quantiles" not in sys.argv
t0 = time.perf_counter()
out, total = {}, 0
for fn in sorted(f for f in os.listdir(d) if f.endswith(".safetensors")):
    path = os.path.join(d, fn)
    with open(path, "rb") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        header = json.loads(fh.read(n))
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        x = mm[8 + n + b: 8 + n + e].view(DT[info["dtype"]]).astype(np.float64)
        total += e - b
        finite = np.isfinite(x)
        nan = int(np.isnan(x).sum()); inf = int((~finite).sum()) - nan
        if nan or inf:
            x = x[finite]
        m = x.mean(); c = x - m; c2 = c * c
        m2 = c2.mean(); m3 = (c2 * c).mean(); m4 = (c2 * c2).mean()
        r = {"mean": m, "std": np.sqrt(m2), "skewness": m3 / m2 ** 1.5 if m2 > 0 else None,
             "kurtosis_excess": m4 / m2 ** 2 - 3 if m2 > 0 else None, "min": x.min(), "max": x.max(),
             "l1": np.abs(x).sum(), "l2": np.sqrt((x * x).sum()), "zero_fraction": float((x == 0).mean()),
             "nan": nan, "inf": inf}
        if quantiles:
            r["quantiles"] = np.quantile(x, Q, method="inverted_cdf").tolist()
        out[name] = {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in r.items()}
secs = time.perf_counter() - t0
print(json.dumps({"seconds": secs, "bytes": total, "tensors": len(out), "gb_per_s": total / secs / 1e9, "stats": out}))
