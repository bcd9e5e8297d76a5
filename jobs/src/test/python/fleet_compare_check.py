"""Independent reference for `weightlab compare --against` over a fleet, in numpy float64.

usage: fleet_compare_check.py make ROOT
         writes a small fleet: ROOT/runs/a/checkpoint-{100,200,300} and ROOT/runs/b/checkpoint-{100,200}
         (model.safetensors each; every step adds noise and a rank-2 update to the previous step's weights; q_proj F32,
         down_proj F16, norms F32 1-D), ROOT/base.safetensors (a fixed reference), and ROOT/shapes/x/checkpoint-{100,200}
         whose step 200 has q_proj of another shape
       fleet_compare_check.py check DATASET
         reads DATASET as one table with pyarrow.parquet.read_table (hive partitions model, step) and, per tensor row,
         recomputes from the two checkpoints it names (checkpoint_uri, against_uri): rotation 1/2 ||a/|a| - b/|b|||^2,
         rel_delta, norms, std, excess kurtosis, the ranks of b - a; per numbered layer, the rotation of its kernels as
         one vector. Prints JSON: rows, columns, the (model, step, checkpoint, against) pairs, the largest relative errors.
"""
import glob, json, os, re, sys

import numpy as np

STEPS = {"a": [100, 200, 300], "b": [100, 200]}


def init(rng):
    w = {}
    for l in range(2):
        w[f"model.layers.{l}.self_attn.q_proj.weight"] = rng.standard_normal((32, 24)) * 0.02
        w[f"model.layers.{l}.mlp.down_proj.weight"] = rng.laplace(size=(24, 40)) * 0.02
        w[f"model.layers.{l}.input_layernorm.weight"] = 1.0 + rng.standard_normal(24) * 0.01
    w["model.embed_tokens.weight"] = rng.standard_normal((50, 24)) * 0.02
    return w


def save(w, path, shape_change=False):
    from safetensors.numpy import save_file
    out = {k: v.astype(np.float16 if "down_proj" in k else np.float32) for k, v in w.items()}
    if shape_change:
        out["model.layers.0.self_attn.q_proj.weight"] = np.zeros((32, 25), dtype=np.float32)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(out, path)


def make(root):
    rng = np.random.default_rng(3)
    for model, steps in STEPS.items():
        w = init(rng)
        for s in steps:
            for k, v in w.items():
                upd = rng.standard_normal(v.shape) * 0.002
                if v.ndim == 2:
                    upd += (rng.standard_normal((v.shape[0], 2)) @ rng.standard_normal((2, v.shape[1]))) * 0.003
                w[k] = v + upd
            save(w, os.path.join(root, "runs", model, f"checkpoint-{s}", "model.safetensors"))
    save(init(rng), os.path.join(root, "base.safetensors"))
    w = init(rng)
    save(w, os.path.join(root, "shapes", "x", "checkpoint-100", "model.safetensors"))
    save(w, os.path.join(root, "shapes", "x", "checkpoint-200", "model.safetensors"), shape_change=True)


def load(uri):
    from safetensors.numpy import load_file
    p = re.sub(r"^file:/*", "/", uri)
    if os.path.isdir(p):
        p = sorted(glob.glob(os.path.join(p, "*.safetensors")))[0]
    return load_file(p)


def rel(x, ref):
    return abs(x - ref) / max(abs(ref), 1e-300)


def check(dataset):
    import pyarrow.parquet as pq
    table = pq.read_table(dataset)
    rows = table.to_pylist()
    out = {"rows": len(rows), "columns": table.column_names, "pairs": set(), "tensors_checked": 0, "layers_checked": 0, "max_rel_err": {}}
    files = {}

    def get(uri):
        if uri not in files:
            files[uri] = load(uri)
        return files[uri]

    def err(name, x, ref):
        out["max_rel_err"][name] = max(out["max_rel_err"].get(name, 0.0), rel(x, ref))

    for r in rows:
        a_sd, b_sd = get(r["against_uri"]), get(r["checkpoint_uri"])
        out["pairs"].add((str(r["model"]), r["step"], r["checkpoint_uri"], r["against_uri"], r["against_step"]))
        if r["level"] == "tensor":
            a = a_sd[r["name"]].astype(np.float64).ravel()
            b = b_sd[r["name"]].astype(np.float64).ravel()
            na, nb = np.linalg.norm(a), np.linalg.norm(b)
            err("rotation", r["rotation"], 0.5 * float(np.sum((a / na - b / nb) ** 2)))
            err("rel_delta", r["rel_delta"], float(np.linalg.norm(b - a) / na))
            err("norm_ref", r["norm_ref"], float(na))
            err("norm", r["norm"], float(nb))
            err("std", r["std"], float(b.std()))
            err("std_ref", r["std_ref"], float(a.std()))
            err("kurtosis_excess", r["kurtosis_excess"], float(np.mean((b - b.mean()) ** 4) / b.var() ** 2 - 3))
            if "delta_rank_0.01" in r:  # not with --no-delta-rank
                rows_ = a_sd[r["name"]].shape[0]
                s = np.linalg.svd((b - a).reshape(rows_, -1), compute_uv=False)
                if int(np.sum(s > 0.01 * s[0])) != r["delta_rank_0.01"]:
                    out.setdefault("rank_mismatches", []).append(r["name"])
                err("delta_stable_rank", r["delta_stable_rank"], float(np.sum(s ** 2) / s[0] ** 2))
            out["tensors_checked"] += 1
        elif r["layer_index"] is not None:
            names = [k for k, v in a_sd.items() if k.startswith(r["layer"] + ".") and v.ndim >= 2]
            a = np.concatenate([a_sd[k].astype(np.float64).ravel() for k in sorted(names)])
            b = np.concatenate([b_sd[k].astype(np.float64).ravel() for k in sorted(names)])
            err("layer_rotation", r["rotation"], 0.5 * float(np.sum((a / np.linalg.norm(a) - b / np.linalg.norm(b)) ** 2)))
            out["layers_checked"] += 1
    out["pairs"] = sorted([list(p) for p in out["pairs"]], key=lambda p: (p[0], p[1] if p[1] is not None else -1, p[2]))
    print(json.dumps(out))


if sys.argv[1] == "make":
    make(sys.argv[2])
else:
    check(sys.argv[2])
