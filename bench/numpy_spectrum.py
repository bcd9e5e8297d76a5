"""The loop a user would write instead of `weightlab spectrum`: every 2-D floating-point weight of a checkpoint through
numpy.linalg.svd(W.astype(float64), compute_uv=False) (LAPACK gesdd, numpy's own threads).
  numpy_spectrum.py CHECKPOINT_FILE_OR_DIR [--values FILE] [--skip NAME ...]
Prints JSON: seconds, matrices, and the singular values' sums for cross-checking; --values also writes every
matrix's singular values to FILE (JSON, after the timing)."""
import json, os, struct, sys, time
import numpy as np
import ml_dtypes

DT = {"BF16": ml_dtypes.bfloat16, "F16": np.float16, "F32": np.float32, "F64": np.float64, "I8": np.int8, "U8": np.uint8, "I64": np.int64}
path = sys.argv[1]
skip = set(sys.argv[sys.argv.index("--skip") + 1:]) if "--skip" in sys.argv else set()
values_file = sys.argv[sys.argv.index("--values") + 1] if "--values" in sys.argv else None
values = {}
files = [os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith(".safetensors")] if os.path.isdir(path) else [path]
t0 = time.perf_counter()
out = {}
for fn in files:
    with open(fn, "rb") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        header = json.loads(fh.read(n))
    mm = np.memmap(fn, dtype=np.uint8, mode="r")
    for name, info in header.items():
        # integer tensors are buffers (position_ids), not weights: `spectrum` lists them as not analysed
        if name == "__metadata__" or len(info["shape"]) != 2 or name in skip or info["dtype"][0] in "IU":
            continue
        b, e = info["data_offsets"]
        w = mm[8 + n + b: 8 + n + e].view(DT[info["dtype"]]).reshape(info["shape"]).astype(np.float64)
        sv = np.linalg.svd(w, compute_uv=False)
        out[name] = float(sv.sum())
        if values_file:
            values[name] = sv
seconds = time.perf_counter() - t0
if values_file:
    with open(values_file, "w") as fh:
        json.dump({k: v.tolist() for k, v in values.items()}, fh)
print(json.dumps({"seconds": seconds, "matrices": len(out), "sv_sums": out}))
