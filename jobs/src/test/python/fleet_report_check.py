"""The numbers a fleet report page should show, computed independently of WeightLab's report code.

usage: fleet_report_check.py SPECTRUM_DATASET SERIES_DIR REFERENCE_STEP STEP...
         SPECTRUM_DATASET: a `weightlab spectrum` fleet dataset, read as one table with pyarrow;
         SERIES_DIR: fleet_series.py's checkpoints (checkpoint-<step>/model.safetensors), read with safetensors/numpy.
Prints JSON:
  spectrum: {checkpoint_uri: {"matrices": rows, "ok": rows analysed, "alpha_median": numpy median of the finite alphas,
             "outside": sorted names of the matrices whose alpha is outside [2, 6]}}
  changes:  {step: {layer index or "none": [rel_delta, rotation]}} of the checkpoints of STEP... against REFERENCE_STEP,
            over each layer's matrices concatenated in float64: ||W - W0|| / ||W0|| and 1 - cos(W, W0) as
            ||W/||W|| - W0/||W0||||^2 / 2 (the same for unit vectors, without 1 - cos's cancellation near 0).
"""
import json, math, os, re, sys

import numpy as np
import pyarrow.parquet as pq
from safetensors.numpy import load_file


def layers(path):
    groups = {}
    for name, w in load_file(path).items():
        if w.ndim < 2:
            continue  # compare's default: kernels only (1-D tensors with --include-biases)
        m = re.search(r"\.layers\.(\d+)\.", name)
        groups.setdefault(m.group(1) if m else "none", []).append((name, w.astype(np.float64).ravel()))
    return {k: np.concatenate([w for _, w in sorted(v)]) for k, v in groups.items()}


def main(dataset, series, ref_step, *steps):
    spectrum = {}
    for r in pq.read_table(dataset, columns=["checkpoint_uri", "name", "status", "alpha"]).to_pylist():
        s = spectrum.setdefault(r["checkpoint_uri"], {"matrices": 0, "ok": 0, "alphas": [], "outside": []})
        s["matrices"] += 1
        s["ok"] += r["status"] == "ok"
        a = r["alpha"]
        if a is not None and math.isfinite(a):
            s["alphas"].append(a)
            if a < 2 or a > 6:
                s["outside"].append(r["name"])
    for s in spectrum.values():
        s["alpha_median"] = float(np.median(s.pop("alphas"))) if s.get("alphas") else None
        s["outside"].sort()
    ref = layers(os.path.join(series, f"checkpoint-{ref_step}", "model.safetensors"))
    changes = {}
    for step in steps:
        cur = layers(os.path.join(series, f"checkpoint-{step}", "model.safetensors"))
        changes[step] = {k: [float(np.linalg.norm(cur[k] - w0) / np.linalg.norm(w0)),
                             float(0.5 * np.sum((cur[k] / np.linalg.norm(cur[k]) - w0 / np.linalg.norm(w0)) ** 2))] for k, w0 in ref.items()}
    print(json.dumps({"spectrum": spectrum, "changes": changes}))


main(*sys.argv[1:])
