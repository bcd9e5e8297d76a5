"""Planted test matrices for the Gram route and numpy's gesdd singular values of each.
  gram_planted.py OUTDIR
Writes OUTDIR/<case>.f64 (row-major float64, little-endian) and prints JSON {case: {rows, cols, sv}}."""
import json, os, sys
import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(20)


def planted(rows, cols, s):
    """U diag(s) V^T with Haar-random orthonormal U (rows x k) and V (cols x k)."""
    k = len(s)
    u, _ = np.linalg.qr(rng.standard_normal((rows, k)))
    v, _ = np.linalg.qr(rng.standard_normal((cols, k)))
    return (u * s) @ v.T


cases = {
    "gauss_tall": rng.standard_normal((600, 200)) / np.sqrt(600),
    "gauss_wide": rng.standard_normal((150, 500)),
    # sigma_1^2 / sigma_min^2 = 1e7: estimate eps * 1e7 = 2.2e-9, certified
    "planted_cond_1e3.5": planted(400, 160, np.logspace(0, -3.5, 160)),
    # 1e12: estimate 2.2e-4, must fall back to gesdd
    "planted_cond_1e6": planted(300, 120, np.logspace(0, -6, 120)),
    # rank 20 of 100: sigma_min is rounding noise, must fall back
    "rank_20": rng.standard_normal((300, 20)) @ rng.standard_normal((20, 100)),
}
res = {}
for name, a in cases.items():
    a = np.ascontiguousarray(a, dtype="<f8")
    a.tofile(os.path.join(out, name + ".f64"))
    res[name] = {"rows": a.shape[0], "cols": a.shape[1], "sv": np.linalg.svd(a, compute_uv=False).tolist()}
print(json.dumps(res))
