"""Independent reference for `weightlab compare` (issue #9), in numpy float64.

usage: compare_check.py make FIXTURE_DIR OUT_DIR
         writes OUT_DIR/{same,neg,scaled,planted,noisy}/model.safetensors from the fixture's model.safetensors:
         identical, negated, x3, every 2-D kernel + a planted rank-4 U V^T (stored F64), and every tensor + 1 % noise with
         'encoder.layer.5.intermediate.dense.weight' removed and 'extra.weight' added (for the not-compared list)
       compare_check.py check FIXTURE_DIR NOISY_DIR
         per 2-D kernel: rotation 1/2 ||a/|a| - b/|b|||^2, relative change, singular values of b - a and the ranks
         (#{s > tau s1} for tau 1e-2, 1e-3; numpy's matrix_rank; stable rank; Roy-Vetterli effective rank), the std
         and excess kurtosis of both tensors (population moments); per layer the rotation of
         the layer's kernels taken as one vector. Prints JSON.
"""
import json, os, re, sys

import numpy as np
from safetensors.numpy import load_file, save_file


def kernels(sd):
    return {k: v for k, v in sd.items() if v.ndim >= 2 and np.issubdtype(v.dtype, np.floating)}


def make(fixture, out):
    sd = load_file(os.path.join(fixture, "model.safetensors"))
    rng = np.random.default_rng(11)
    variants = {
        "same": {k: v.copy() for k, v in sd.items()},
        "neg": {k: -v for k, v in sd.items()},
        "scaled": {k: (3 * v).astype(v.dtype) for k, v in sd.items()},
        "planted": {},
        "noisy": {},
    }
    for k, v in sd.items():
        if v.ndim == 2:
            u = rng.standard_normal((v.shape[0], 4)) * 0.01
            w = rng.standard_normal((v.shape[1], 4)) * 0.01
            # float64, so ΔW is the planted U V^T up to 1e-16 (a float32 cast would add full-rank rounding noise)
            variants["planted"][k] = v.astype(np.float64) + u @ w.T
        else:
            variants["planted"][k] = v.copy()
        if k != "encoder.layer.5.intermediate.dense.weight":
            variants["noisy"][k] = (v + 0.01 * v.std() * rng.standard_normal(v.shape)).astype(v.dtype)
    variants["noisy"]["extra.weight"] = np.ones((4, 4), dtype=np.float32)
    for name, d in variants.items():
        os.makedirs(os.path.join(out, name), exist_ok=True)
        save_file(d, os.path.join(out, name, "model.safetensors"), metadata={"format": "pt"})


def check(fixture, noisy):
    a_sd = kernels(load_file(os.path.join(fixture, "model.safetensors")))
    b_sd = load_file(os.path.join(noisy, "model.safetensors"))
    tensors, layers = {}, {}
    for k, a in a_sd.items():
        if k not in b_sd:
            continue
        a64, b64 = a.astype(np.float64).ravel(), b_sd[k].astype(np.float64).ravel()
        na, nb = np.linalg.norm(a64), np.linalg.norm(b64)
        d = b64 - a64
        rows = a.shape[0]
        s = np.linalg.svd(d.reshape(rows, -1), compute_uv=False)
        p = s / s.sum()
        p = p[p > 0]
        tensors[k] = {
            "rotation": 0.5 * float(np.sum((a64 / na - b64 / nb) ** 2)),
            "rel_delta": float(np.linalg.norm(d) / na),
            "rank_0.01": int(np.sum(s > 0.01 * s[0])),
            "rank_0.001": int(np.sum(s > 0.001 * s[0])),
            "stable_rank": float(np.sum(s ** 2) / s[0] ** 2),
            "effective_rank": float(np.exp(-np.sum(p * np.log(p)))),
            # numpy's floor with the stored dtype's epsilon (the coarser of the two), as matrix_rank on the stored arrays
            "matrix_rank": int(np.sum(s > s[0] * max(rows, d.size // rows) * max(np.finfo(a.dtype).eps, np.finfo(b_sd[k].dtype).eps))),
            "std_ref": float(a64.std()), "std": float(b64.std()),
            "kurtosis_excess_ref": float(np.mean((a64 - a64.mean()) ** 4) / a64.var() ** 2 - 3),
            "kurtosis_excess": float(np.mean((b64 - b64.mean()) ** 4) / b64.var() ** 2 - 3),
        }
        m = re.search(r"layer\.(\d+)\.", k)
        if m:
            layers.setdefault(int(m.group(1)), []).append((a64, b64))
    lrot = {}
    for l, ab in layers.items():
        a = np.concatenate([x for x, _ in ab])
        b = np.concatenate([y for _, y in ab])
        lrot[str(l)] = 0.5 * float(np.sum((a / np.linalg.norm(a) - b / np.linalg.norm(b)) ** 2))
    print(json.dumps({"tensors": tensors, "layers": lrot}))


if sys.argv[1] == "make":
    make(sys.argv[2], sys.argv[3])
else:
    check(sys.argv[2], sys.argv[3])
