"""Independent numpy/scipy reference for the random-matrix metrics (docs/algorithms.md, "Random-matrix metrics").

  make DIR   writes DIR/<case>.bin (float64, row-major) and DIR/cases.json: planted matrices
  ckpt DIR   the same planted matrices as DIR/model.safetensors (F64), under BERT layer names
  lora-ranks BASE_SAFETENSORS OUT   numpy's max(1, #spikes) per module of OUT/adapter's rank_pattern
  check DIR  reads DIR/<case>.bin and DIR/<case>.perm.bin (the Java permutation) and prints, per case, the MP fit of
             both ESDs, the traps and rand_distance computed here from the published definitions, as JSON.
"""
import json, os, sys
import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq

TW1_Q99 = 2.0234


def mp_median(g):
    a, b = (1 - np.sqrt(g)) ** 2, (1 + np.sqrt(g)) ** 2
    dens = lambda x: np.sqrt(max((b - x) * (x - a), 0.0)) / (2 * np.pi * g * x)
    return brentq(lambda t: quad(dens, a, t, limit=500, epsabs=1e-13, epsrel=1e-12)[0] - 0.5, a + 1e-15, b, xtol=1e-14)


def mp_fit(s, n, m):
    lam = np.sort(s ** 2)
    s2 = np.median(lam) / (n * mp_median(m / n))
    lp = s2 * (np.sqrt(n) + np.sqrt(m)) ** 2
    thr = lp + TW1_Q99 * s2 * (np.sqrt(n) + np.sqrt(m)) * (1 / np.sqrt(n) + 1 / np.sqrt(m)) ** (1 / 3)
    spikes = lam[lam > thr]
    return {"sigma2": s2, "lambda_plus": lp, "lambda_minus": s2 * (np.sqrt(n) - np.sqrt(m)) ** 2, "threshold": thr,
            "num_spikes": int(spikes.size), "softrank": lp / lam[-1], "spike_mass": float(spikes.sum() / lam.sum()),
            "largest": float(spikes.max()) if spikes.size else None}


def js_log_binned(s1, s2):
    l1, l2 = s1 ** 2, s2 ** 2
    pooled = np.concatenate([l1, l2])
    hi = pooled.max()
    lo = max(np.quantile(pooled, 0.01), hi * 1e-12)
    bins = int(np.ceil(len(l1) ** (1 / 3) - 1e-9))
    edges = np.linspace(np.log10(lo), np.log10(hi), bins + 1)
    def hist(l):
        x = np.log10(np.maximum(l, lo))
        return np.histogram(np.clip(x, edges[0], edges[-1]), bins=edges)[0] / len(l)
    p, q = hist(l1), hist(l2)
    mid = (p + q) / 2
    kl = lambda a: np.sum(a[a > 0] * np.log(a[a > 0] / mid[a > 0]))
    return float(np.sqrt((kl(p) + kl(q)) / 2))


def orthonormal(rng, n, k):
    return np.linalg.qr(rng.standard_normal((n, k)))[0]


def make(d):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(20)
    cases = {}
    g = rng.standard_normal((1000, 500))
    cases["gauss"] = (g, 0)
    cases["signal3"] = (g + orthonormal(rng, 1000, 3) @ np.diag([300.0, 200.0, 150.0]) @ orthonormal(rng, 500, 3).T, 3)
    # rank 4 at 1.8-3x the BBP detection threshold (N M)^(1/4), on a wide matrix (rows < cols)
    w = rng.standard_normal((400, 800))
    theta = np.array([3.0, 2.5, 2.0, 1.8]) * (400 * 800) ** 0.25
    cases["signal4_wide"] = (w + orthonormal(rng, 400, 4) @ np.diag(theta) @ orthonormal(rng, 800, 4).T, 4)
    t = g.copy()
    t[0, :5] = 200.0  # five huge elements in one row: one spike here, five traps once the elements are shuffled
    cases["trapped"] = (t, 1)
    for name, (a, k) in cases.items():
        a.astype("<f8").tofile(os.path.join(d, name + ".bin"))
    json.dump({name: {"rows": a.shape[0], "cols": a.shape[1], "planted_spikes": k} for name, (a, k) in cases.items()},
              open(os.path.join(d, "cases.json"), "w"))


NAMES = {"gauss": "encoder.layer.0.attention.self.query.weight", "signal3": "encoder.layer.0.attention.self.key.weight",
         "signal4_wide": "encoder.layer.0.attention.self.value.weight", "trapped": "encoder.layer.0.attention.output.dense.weight"}


def ckpt(d):
    from safetensors.numpy import save_file
    make(d)
    cases = json.load(open(os.path.join(d, "cases.json")))
    tensors = {NAMES[n]: np.fromfile(os.path.join(d, n + ".bin"), dtype="<f8").reshape(c["rows"], c["cols"]) for n, c in cases.items()}
    save_file(tensors, os.path.join(d, "model.safetensors"))
    out = {}
    for n, c in cases.items():
        s = np.linalg.svd(tensors[NAMES[n]], compute_uv=False)
        out[NAMES[n]] = dict(mp_fit(s, max(c["rows"], c["cols"]), min(c["rows"], c["cols"])), planted_spikes=c["planted_spikes"])
    print(json.dumps(out))


def check(d):
    cases = json.load(open(os.path.join(d, "cases.json")))
    out = {}
    for name, c in cases.items():
        r, co = c["rows"], c["cols"]
        n, m = max(r, co), min(r, co)
        a = np.fromfile(os.path.join(d, name + ".bin"), dtype="<f8").reshape(r, co)
        p = np.fromfile(os.path.join(d, name + ".perm.bin"), dtype="<f8").reshape(r, co)
        assert np.array_equal(np.sort(a.ravel()), np.sort(p.ravel())), "the permuted matrix holds the same elements"
        s, sp = np.linalg.svd(a, compute_uv=False), np.linalg.svd(p, compute_uv=False)
        out[name] = {"mp": mp_fit(s, n, m), "rand": mp_fit(sp, n, m), "rand_distance": js_log_binned(s, sp),
                     "mp_median": mp_median(m / n)}
    print(json.dumps(out))


def lora_ranks(base, out):
    from safetensors.numpy import load_file
    w = load_file(base)
    cfg = json.load(open(os.path.join(out, "adapter", "adapter_config.json")))
    expected = {}
    for m in cfg["rank_pattern"]:
        a = w[m + ".weight"].astype(np.float64)
        expected[m] = max(1, mp_fit(np.linalg.svd(a, compute_uv=False), max(a.shape), min(a.shape))["num_spikes"])
    print(json.dumps({"expected": expected, "written": cfg["rank_pattern"]}))


if __name__ == "__main__":
    if sys.argv[1] == "lora-ranks":
        lora_ranks(sys.argv[2], sys.argv[3])
        sys.exit(0)
    {"make": make, "ckpt": ckpt, "check": check}[sys.argv[1]](sys.argv[2])
