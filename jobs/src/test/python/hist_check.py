"""numpy's answer for stats' histograms.json.

usage: hist_check.py MODEL_DIR HISTOGRAMS_JSON
  For every tensor in histograms.json: np.histogram of its stored values (as float64) over the same edges, and
  prints JSON {tensor: {"diff": sum |ours - numpy| over bins, "ambiguous": values within 2^-8 + 2^-24 relative of an
  edge (a float32-bucketed value may land in the neighbouring bin; 1e-12 for exact dtypes), "in_range": values in [first edge, last
  edge], "ours": sum of our counts}}.
"""
import json, sys
import numpy as np
from wl_tensors import tensors

model, doc = sys.argv[1], json.load(open(sys.argv[2]))
values = tensors(model)
rel = 2.0 ** -8 + 2.0 ** -24
out = {}
for h in doc["tensors"]:
    v = values[h["tensor"]].astype(np.float64).ravel()
    v = v[np.isfinite(v)]
    edges = np.asarray(h["edges"], dtype=np.float64)
    ours = np.asarray(h["counts"], dtype=np.int64)
    ref, _ = np.histogram(v, bins=edges)
    # distance of each value to its nearest edge: the bins ours and numpy's may disagree on
    idx = np.clip(np.searchsorted(edges, v), 1, len(edges) - 1)
    near = np.minimum(np.abs(v - edges[idx]), np.abs(v - edges[idx - 1]))
    tol = 1e-12 if h["exact"] else rel * 1.0001  # exact: only rounding of the bin arithmetic
    ambiguous = int(np.sum(near <= tol * np.abs(v)))
    out[h["tensor"]] = {"diff": int(np.abs(ours - ref).sum()), "ambiguous": ambiguous,
                        "in_range": int(np.sum((v >= edges[0]) & (v <= edges[-1]))), "ours": int(ours.sum())}
print(json.dumps(out))
