"""Oracle for `weightlab lr-scales` (SGD-SaI, docs/algorithms.md §7.3), written from the paper's formula in numpy.

  make MODEL_DIR OUT.safetensors   gradients for every floating-point tensor of the model: Gaussian with a
                                   per-tensor mean, one tensor all zeros, one constant (float32, seeded)
  bad GRADS OUT missing|shape      the same gradients with one matrix left out or transposed
  check GRADS.safetensors          per tensor: n, ||g||_2, std (ddof 1; 0 for one element), G = ||g|| / (std + 1e-8),
                                   G / max G, as JSON
"""
import glob, json, os, sys
import numpy as np
from safetensors.numpy import load_file, save_file


def model_tensors(d):
    out = {}
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        out.update(load_file(f))
    return out


def make(model_dir, out):
    rng = np.random.default_rng(11)
    grads = {}
    model = model_tensors(model_dir)
    names = [k for k, v in model.items() if v.dtype.kind == "f"]
    for i, k in enumerate(sorted(names)):
        v = model[k]
        if i == 1:
            g = np.zeros(v.shape, dtype=np.float32)
        elif i == 2:
            g = np.full(v.shape, 0.25, dtype=np.float32)
        else:
            g = (rng.standard_normal(v.shape) * 10.0 ** rng.uniform(-4, -1) + rng.uniform(-1e-3, 1e-3)).astype(np.float32)
        grads[k] = g
    save_file(grads, out)


def bad(grads_path, out, kind):
    """The same gradients with one tensor missing ('missing') or one matrix transposed ('shape')."""
    g = load_file(grads_path)
    name = sorted(k for k, v in g.items() if v.ndim == 2 and v.shape[0] != v.shape[1])[0]
    if kind == "missing":
        del g[name]
    else:
        g[name] = np.ascontiguousarray(g[name].T)
    save_file(g, out)
    print(name)


def check(path):
    g = load_file(path)
    res = {}
    for k, v in g.items():
        x = v.astype(np.float64).ravel()
        std = float(x.std(ddof=1)) if x.size > 1 else 0.0
        res[k] = {"n": int(x.size), "norm": float(np.linalg.norm(x)), "std": std, "gsnr": float(np.linalg.norm(x) / (std + 1e-8))}
    m = max(r["gsnr"] for r in res.values())
    for r in res.values():
        r["lr_scale"] = r["gsnr"] / m if m > 0 else 0.0
    print(json.dumps(res))


if __name__ == "__main__":
    {"make": lambda: make(sys.argv[2], sys.argv[3]), "check": lambda: check(sys.argv[2]),
     "bad": lambda: bad(sys.argv[2], sys.argv[3], sys.argv[4])}[sys.argv[1]]()
