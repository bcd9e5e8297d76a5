"""Independent checks of `weightlab rescale` outputs with torch/numpy/scipy/transformers.

  tensors A B            per tensor of A: std(ddof=1), mean of A and B in float64, bytes identical?, dtypes
  load DIR CLASS         load DIR with transformers CLASS (BertModel, LlamaForCausalLM): missing/unexpected keys,
                         whether a forward pass on a few tokens is finite
  matrix DIR NAME        for one 2-D tensor: max |W Wᵀ/g² − I| (rows or columns), W[0,0], max |W − W[0,0]·P| with P the
                         padded identity, GG beta by the moment method (scipy brentq on Γ ratios)
  svd A B NAME:MODE:K ... for each spec, numpy's SVD of A's tensor in float64 and the reference W' = U_k S_k V_kᵀ
                         (MODE smooth) or W − U_k S_k V_kᵀ (MODE sharpen): B's relative Frobenius error against it,
                         the removed energy share, and numpy's singular values' count (the rank)
Prints one JSON object.
"""
import sys, json, os, glob
import numpy as np
import torch
from safetensors.torch import load_file
from scipy.optimize import brentq
from scipy.special import gammaln


def load_dir(d):
    out = {}
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        out.update(load_file(f))
    return out


def beta_moment(x):
    x = x - x.mean()
    rho = (x ** 2).mean() / np.abs(x).mean() ** 2
    r = lambda b: np.exp(gammaln(1 / b) + gammaln(3 / b) - 2 * gammaln(2 / b)) - rho
    return brentq(r, 0.05, 20)


cmd = sys.argv[1]
if cmd == "tensors":
    a, b = load_dir(sys.argv[2]), load_dir(sys.argv[3])
    res = {}
    for k, t in a.items():
        u = b[k]
        x, y = t.double().numpy().ravel(), u.double().numpy().ravel()
        res[k] = {"in_std": float(x.std(ddof=1)) if x.size > 1 else None, "out_std": float(y.std(ddof=1)) if y.size > 1 else None,
                  "in_mean": float(x.mean()) if x.size else None, "out_mean": float(y.mean()) if y.size else None,
                  "out_max_abs": float(np.abs(y).max()) if y.size else None,
                  "identical": t.dtype == u.dtype and t.shape == u.shape and bool(torch.equal(t.view(-1).view(torch.uint8) if t.dtype == torch.bool else t, u)) if t.dtype == u.dtype else False,
                  "same_values": bool(np.array_equal(x, y)),
                  "in_dtype": str(t.dtype), "out_dtype": str(u.dtype), "n": int(x.size)}
    res["__keys_b_only__"] = sorted(set(b) - set(a))
    print(json.dumps(res))
elif cmd == "load":
    import transformers
    cls = getattr(transformers, sys.argv[3])
    kw = {"add_pooling_layer": False} if sys.argv[3] == "BertModel" else {}
    m, info = cls.from_pretrained(sys.argv[2], output_loading_info=True, **kw)
    ids = torch.tensor([[1, 5, 7, 11, 13]])
    with torch.no_grad():
        o = m(input_ids=ids)
    first = o[0] if isinstance(o, tuple) else (o.logits if hasattr(o, "logits") else o.last_hidden_state)
    print(json.dumps({"missing": sorted(info["missing_keys"]), "unexpected": sorted(info["unexpected_keys"]),
                      "mismatched": [str(x) for x in info["mismatched_keys"]], "finite": bool(torch.isfinite(first.float()).all()),
                      "dtype": str(next(m.parameters()).dtype)}))
elif cmd == "matrix":
    t = load_dir(sys.argv[2])[sys.argv[3]].double().numpy()
    r, c = t.shape
    g = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    gram = t @ t.T if r <= c else t.T @ t
    k = min(r, c)
    orth = float(np.abs(gram / g ** 2 - np.eye(k)).max())
    i, j = np.indices((r, c))
    p = (i % k == j % k).astype(np.float64)
    print(json.dumps({"orth_err": orth, "w00": float(t[0, 0]), "pattern_err": float(np.abs(t - t[0, 0] * p).max()),
                      "beta_moment": beta_moment(t.ravel()), "std": float(t.std(ddof=1)), "mean": float(t.mean()), "n": int(t.size)}))
elif cmd == "svd":
    a, b = load_dir(sys.argv[2]), load_dir(sys.argv[3])
    res = {}
    for spec in sys.argv[4:]:
        name, mode, k = spec.split(":")
        k = int(k)
        w = a[name].double().numpy()
        u, s, vt = np.linalg.svd(w, full_matrices=False)
        top = (u[:, :k] * s[:k]) @ vt[:k]
        ref = w if k == 0 else top if mode == "smooth" else w - top  # k = 0 edits nothing (WeightWatcher)
        got = b[name].double().numpy()
        e = s[::-1] ** 2  # smallest first, as the tail is summed
        removed = 0.0 if k == 0 else e[: len(s) - k].sum() if mode == "smooth" else e[len(s) - k:].sum()
        res[name] = {"rel_frobenius": float(np.linalg.norm(got - ref) / np.linalg.norm(ref)),
                     "energy_removed": float(removed / e.sum()), "rank": int(len(s)), "out_dtype": str(b[name].dtype)}
    print(json.dumps(res))
