"""Independent numpy reference for eigenvector localisation and Conv2D pooling (docs/algorithms.md §7.7-7.8).

  make DIR   writes DIR/vec.bin (a seeded heavy-tailed vector, float64), DIR/conv.bin (a seeded (64, 32, 3, 3)
             kernel, float64, row-major) and prints JSON: the vector's metrics, the conv kernel's pooled ESD
             (1/2 s^2 of the nine slices W[:, :, i, j], descending) and the bulk/tail columns of the slices'
             short-side vectors split at xmin = the 100th largest eigenvalue.
"""
import json, os, sys
import numpy as np


def discrete_entropy(vec, num_bins=100):
    # WeightWatcher's definition (RMT_Util.discrete_entropy), written out from its description
    vec = np.abs(vec)
    vec = vec - np.mean(vec)
    h = np.histogram(vec, density=True, bins=num_bins)[0]
    p = h + 1e-10
    p = p / np.sqrt(2 * np.pi)
    p = p / np.sum(p)
    return float(-np.sum(p * np.log(p)))


def metrics(v):
    return {"vec_entropy": discrete_entropy(v),
            "loc_ratio": float(np.linalg.norm(v, 1) / np.linalg.norm(v, np.inf)),
            "part_ratio": float(np.linalg.norm(v, 2) / np.linalg.norm(v, 4))}


def columns(evals, vecs, xmin):
    out = {}
    tail = evals >= xmin
    for part, mask in (("bulk", ~tail), ("tail", tail)):
        ms = [metrics(v) for v, k in zip(vecs, mask) if k]
        for stat, f in (("mean", np.mean), ("var", np.var)):
            for name in ("vec_entropy", "loc_ratio", "part_ratio"):
                out[f"{part}_{stat}_{name}"] = float(f([m[name] for m in ms])) if ms else None
    return out


def short_side(w, scale=1.0):
    # eigenvectors of the smaller Gram matrix: U's columns when rows <= cols, else V's
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    vecs = [u[:, t] for t in range(len(s))] if w.shape[0] <= w.shape[1] else [vt[t, :] for t in range(len(s))]
    return (scale * s) ** 2, vecs


def main():
    cmd, d = sys.argv[1], sys.argv[2]
    assert cmd == "make"
    rng = np.random.default_rng(20)
    v = rng.standard_t(3, size=1000)
    v /= np.linalg.norm(v)
    v.astype("<f8").tofile(os.path.join(d, "vec.bin"))
    k = rng.standard_normal((64, 32, 3, 3))
    k.astype("<f8").tofile(os.path.join(d, "conv.bin"))
    evals, vecs = [], []
    for i in range(3):
        for j in range(3):
            w = k[:, :, i, j]
            if w.shape[0] < w.shape[1]:
                w = w.T
            e, vs = short_side(w)
            evals.extend(0.5 * e)
            vecs.extend(vs)
    evals = np.array(evals)
    xmin = float(np.sort(evals)[::-1][99])
    print(json.dumps({"vec": metrics(v), "conv_evals": sorted(map(float, evals), reverse=True), "xmin": xmin,
                      "conv_columns": columns(evals, vecs, xmin)}))


if __name__ == "__main__":
    main()
