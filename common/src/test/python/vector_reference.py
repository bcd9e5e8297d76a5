"""Independent numpy reference for eigenvector localisation and Conv2D pooling (docs/algorithms.md §7.7-7.8).

  make DIR   writes DIR/vec.bin (a seeded heavy-tailed vector, float64), DIR/conv.bin (a seeded (64, 32, 3, 3)
             kernel, float64, row-major) and prints JSON: the vector's metrics, the conv kernel's pooled ESD
             (1/2 s^2 of the nine slices W[:, :, i, j], descending) and the bulk/tail columns of the slices'
             short-side vectors split at an xmin halfway between the 100th and 101st largest eigenvalues (so that
             last-digit differences between SVDs cannot move a vector across it).
  ckpt DIR   writes DIR/model.safetensors: features.0.weight, an F16 (64, 32, 3, 3) Conv2D kernel, and
             classifier.weight, an F32 (24, 40) linear weight (seeded)
  check DIR NTAIL  prints JSON from DIR/model.safetensors: the kernel's pooled ESD (1/2 s^2 of the nine slices,
             descending) and the linear weight's bulk/tail columns from np.linalg.svd's U, the NTAIL largest
             eigenvalues' vectors as the tail (lambda >= xmin for the job's xmin, num_pl_spikes of them)
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


def conv_evals(k):
    evals, vecs = [], []
    for i in range(k.shape[2]):
        for j in range(k.shape[3]):
            w = k[:, :, i, j]
            if w.shape[0] < w.shape[1]:
                w = w.T
            e, vs = short_side(w)
            evals.extend(0.5 * e)
            vecs.extend(vs)
    return np.array(evals), vecs


def main():
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "ckpt":
        from safetensors.numpy import save_file
        rng = np.random.default_rng(7)
        save_file({"features.0.weight": (0.1 * rng.standard_normal((64, 32, 3, 3))).astype(np.float16),
                   "classifier.weight": rng.standard_t(4, size=(24, 40)).astype(np.float32)},
                  os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        return
    if cmd == "check":
        from safetensors.numpy import load_file
        t = load_file(os.path.join(d, "model.safetensors"))
        evals, _ = conv_evals(t["features.0.weight"].astype(np.float64))
        e, vecs = short_side(t["classifier.weight"].astype(np.float64))
        print(json.dumps({"conv_evals": sorted(map(float, evals), reverse=True),
                          "linear_columns": columns(e, vecs, np.sort(e)[::-1][int(sys.argv[3]) - 1])}))
        return
    assert cmd == "make"
    rng = np.random.default_rng(20)
    v = rng.standard_t(3, size=1000)
    v /= np.linalg.norm(v)
    v.astype("<f8").tofile(os.path.join(d, "vec.bin"))
    k = rng.standard_normal((64, 32, 3, 3))
    k.astype("<f8").tofile(os.path.join(d, "conv.bin"))
    evals, vecs = conv_evals(k)
    top = np.sort(evals)[::-1]
    xmin = float((top[99] + top[100]) / 2)
    print(json.dumps({"vec": metrics(v), "conv_evals": sorted(map(float, evals), reverse=True), "xmin": xmin,
                      "conv_columns": columns(evals, vecs, xmin)}))


if __name__ == "__main__":
    main()
