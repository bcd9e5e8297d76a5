"""Reads a fleet dataset as one table with pyarrow (hive partitions model/step) and checks it against numpy on the
checkpoints it names. Prints JSON: row and checkpoint counts, partition values, the largest relative error of a
tensor's std and mean against numpy (float64 over the finite stored values), each layer's q_proj std by step, and
the results of the README's two pyarrow queries (NaN/Inf anywhere; each layer's std over training).
Usage: fleet_check.py DATASET"""
import json, os, sys
import numpy as np
import pyarrow.dataset as ds
from safetensors.numpy import load_file

t = ds.dataset(sys.argv[1], format="parquet", partitioning="hive").to_table().to_pylist()
out = {"rows": len(t), "checkpoints": {}, "max_rel_err_std": 0.0, "max_rel_err_mean": 0.0, "compared": 0, "q_std": {}}
files = {}
for r in t:
    c = out["checkpoints"].setdefault(r["checkpoint_uri"], {"model": r["model"], "step": r["step"], "rows": 0, "tensor_rows": 0})
    c["rows"] += 1
    if r["level"] != "tensor":
        continue
    c["tensor_rows"] += 1
    uri = r["checkpoint_uri"]
    path = uri[len("file:"):] if uri.startswith("file:") else uri
    path = path.replace("///", "/") if path.startswith("///") else path
    if "checkpoint-" not in path:
        continue  # the fixtures are checked against their own reference in StatsJobTest
    if path not in files:
        files[path] = load_file(os.path.join(path, "model.safetensors"))
    v = files[path][r["name"]].astype(np.float64)
    for col, ref in (("std", np.nanstd(v)), ("mean", np.nanmean(v))):
        err = abs(r[col] - ref) / max(abs(ref), 1e-300)
        out["max_rel_err_" + col] = max(out["max_rel_err_" + col], err)
    out["compared"] += 1
    if r["name"].endswith("q_proj.weight"):
        out["q_std"].setdefault(r["name"].split(".")[2], {})[str(r["step"])] = r["std"]

# README, "Querying a fleet dataset", queries 1 and 2 (pyarrow only)
import pyarrow.compute as pc
d = ds.dataset(sys.argv[1], format="parquet", partitioning="hive")
bad = d.to_table(columns=["model", "step", "name", "nan_count", "inf_count"],
                 filter=(pc.field("level") == "tensor") & ((pc.field("nan_count") > 0) | (pc.field("inf_count") > 0)))
out["query_nan"] = bad.to_pylist()
layers = d.to_table(columns=["name", "step", "std"], filter=(pc.field("model") == "series") & (pc.field("level") == "layer"))
out["query_layer_std"] = layers.sort_by([("name", "ascending"), ("step", "ascending")]).to_pylist()
print(json.dumps(out))
