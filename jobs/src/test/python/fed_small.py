"""Small clients for the DP and Byzantine-robust fedavg tests, and numpy's answer for the same round.

usage: fed_small.py make OUT_DIR SEED SCALES [OUTLIERS]
         OUT_DIR/ref/model.safetensors: w (200x150) and b (150), F32, N(0, 0.1^2).
         Client k (OUT_DIR/c<k>/) = ref + Δ_k, Δ_k Gaussian with ‖Δ_k‖ = SCALES[k] (comma-separated), over all
         parameters; OUTLIERS (comma ids) get Δ = 100·(1 + k) in every coordinate instead (far attackers).
         OUT_DIR/manifest.json (examples 100·(k+1), reference = ref).
       fed_small.py clipped OUT_DIR RESULT_DIR TAU
         JSON: max_abs_diff of RESULT_DIR/model against the uniform mean of the updates clipped to TAU
         (Δ·min(1, TAU/‖Δ‖), Flower's DifferentialPrivacyServerSideFixedClipping with z = 0), and the float32 ulp scale.
       fed_small.py noise NOISED_DIR PLAIN_DIR STD
         JSON of noised − plain over every float tensor: n, mean, std (ddof=1), the ratio std/STD, and the
         Kolmogorov-Smirnov p-value of (noised − plain)/STD against N(0, 1) (scipy.stats.kstest).
       fed_small.py robust OUT_DIR RESULT_DIR METHOD F [KEEP]
         JSON: max_abs_diff of RESULT_DIR/model against numpy ports of Flower's aggregate_krum (KEEP > 0: Multi-Krum,
         weights = examples), aggregate_bulyan (Krum as the rule) and RFA's geometric_median_update (alphas =
         examples, nu 1e-5, ftol 1e-6, maxiter KEEP or 4); the float32 ulp scale; the largest |result − honest mean| and
         |weighted mean − honest mean| over the coordinates (honest = clients without a planted outlier, given in F).
       fed_small.py eps Z ROUNDS DELTA
         JSON: ε of ROUNDS Gaussian-mechanism rounds (q = 1) from the closed form RDP(α) = ROUNDS·α/(2z²),
         converted as Balle et al. 2020 Thm 21 over Opacus's default orders.
"""
import sys, json, os
import numpy as np
from safetensors.numpy import load_file, save_file

def flat(t):
    return np.concatenate([t[k].astype(np.float64).ravel() for k in sorted(t)])

def unflat(v, like):
    out, at = {}, 0
    for k in sorted(like):
        n = like[k].size
        out[k] = v[at:at + n].reshape(like[k].shape)
        at += n
    return out

cmd = sys.argv[1]
if cmd == "make":
    out, seed, scales = sys.argv[2], int(sys.argv[3]), [float(x) for x in sys.argv[4].split(",")]
    outliers = set(sys.argv[5].split(",")) if len(sys.argv) > 5 and sys.argv[5] else set()
    rng = np.random.default_rng(seed)
    ref = {"w": (0.1 * rng.standard_normal((200, 150))).astype(np.float32), "b": (0.1 * rng.standard_normal(150)).astype(np.float32)}
    os.makedirs(os.path.join(out, "ref"), exist_ok=True)
    save_file(ref, os.path.join(out, "ref", "model.safetensors"), metadata={"format": "pt"})
    r = flat(ref)
    clients = []
    for k, s in enumerate(scales):
        cid = f"c{k}"
        if cid in outliers:
            d = np.full(r.size, 100.0 * (1 + k))
        else:
            d = rng.standard_normal(r.size)
            d *= s / np.linalg.norm(d)
        x = {n: v.astype(np.float32) for n, v in unflat(r + d, ref).items()}
        os.makedirs(os.path.join(out, cid), exist_ok=True)
        save_file(x, os.path.join(out, cid, "model.safetensors"), metadata={"format": "pt"})
        clients.append({"id": cid, "uri": os.path.join(out, cid), "examples": 100 * (k + 1)})
    json.dump({"round": 1, "reference": os.path.join(out, "ref"), "clients": clients}, open(os.path.join(out, "manifest.json"), "w"), indent=1)
    print(json.dumps({"clients": len(scales)}))
    sys.exit(0)

def load_clients(out):
    m = json.load(open(os.path.join(out, "manifest.json")))
    ref = load_file(os.path.join(m["reference"], "model.safetensors"))
    xs = [flat(load_file(os.path.join(c["uri"], "model.safetensors"))) for c in m["clients"]]
    return ref, flat(ref), np.array(xs)

if cmd == "clipped":
    out, res, tau = sys.argv[2], sys.argv[3], float(sys.argv[4])
    ref, r, xs = load_clients(out)
    d = xs - r
    n = np.linalg.norm(d, axis=1)
    f = np.minimum(1.0, tau / n)
    want = r + (d * f[:, None]).mean(axis=0)
    got = flat(load_file(os.path.join(res, "model", "model.safetensors")))
    print(json.dumps({"max_abs_diff": float(np.abs(got - want.astype(np.float32).astype(np.float64)).max()),
                      "ulp": float(np.spacing(np.float32(np.abs(want).max()))), "clip_factors": f.tolist()}))
    sys.exit(0)

if cmd == "noise":
    import scipy.stats
    a = flat(load_file(os.path.join(sys.argv[2], "model", "model.safetensors")))
    b = flat(load_file(os.path.join(sys.argv[3], "model", "model.safetensors")))
    std = float(sys.argv[4])
    e = a - b
    print(json.dumps({"n": int(e.size), "mean": float(e.mean()), "std": float(e.std(ddof=1)), "ratio": float(e.std(ddof=1) / std),
                      "ks_p": float(scipy.stats.kstest(e / std, "norm").pvalue)}))
    sys.exit(0)

if cmd == "robust":
    out, res, method, f = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    keep = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    m = json.load(open(os.path.join(out, "manifest.json")))
    ref, r, X = load_clients(out)
    W = np.array([c["examples"] for c in m["clients"]], dtype=np.float64); W /= W.sum()
    def krum(X, W, f, keep):
        D = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
        k = max(1, len(X) - f - 2)
        s = np.array([np.sort(D[i])[1:k + 1].sum() for i in range(len(X))])
        if keep > 0:
            idx = np.sort(np.argsort(s, kind="stable")[:keep])
            return (X[idx] * W[idx, None]).sum(0) / W[idx].sum()
        return X[np.argmin(s)]
    def bulyan(X, f):
        rem = list(range(len(X))); sel = []
        for _ in range(len(X) - 2 * f):
            b = krum(X[rem], None, f, 0)
            i = next(j for j in rem if np.array_equal(X[j], b))
            sel.append(i); rem.remove(i)
        S = X[sel]; beta = len(S) - 2 * f
        med = np.median(S, axis=0)
        idx = np.argsort(np.abs(S - med), axis=0, kind="stable")[:beta]
        return np.take_along_axis(S, idx, axis=0).mean(0)
    def rfa(X, a, nu=1e-5, ftol=1e-6, maxiter=4):
        z = (X * a[:, None]).sum(0)
        obj = (a * np.linalg.norm(X - z, axis=1)).sum()
        for _ in range(maxiter):
            prev = obj
            b = a / np.maximum(nu, np.linalg.norm(X - z, axis=1)); b /= b.sum()
            z = (X * b[:, None]).sum(0)
            obj = (a * np.linalg.norm(X - z, axis=1)).sum()
            if abs(prev - obj) < ftol * obj: break
        return z
    want = {"krum": lambda: krum(X, W, f, keep), "bulyan": lambda: bulyan(X, f), "rfa": lambda: rfa(X, W, maxiter=keep or 4)}[method]()
    got = flat(load_file(os.path.join(res, "model", "model.safetensors")))
    honest = np.array([np.linalg.norm(x - r) < 1e3 for x in X])
    hm = X[honest].mean(0)
    print(json.dumps({"max_abs_diff": float(np.abs(got - want.astype(np.float32).astype(np.float64)).max()),
                      "ulp": float(np.spacing(np.float32(np.abs(want).max()))),
                      "off_honest": float(np.abs(got - hm).max()), "mean_off_honest": float(np.abs((X * W[:, None]).sum(0) - hm).max())}))
    sys.exit(0)

if cmd == "eps":
    z, rounds, delta = float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    a = np.array([1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)), dtype=np.float64)
    rdp = rounds * a / (2 * z * z)
    eps = rdp - (np.log(delta) + np.log(a)) / (a - 1) + np.log((a - 1) / a)
    i = int(np.nanargmin(eps))
    print(json.dumps({"epsilon": float(eps[i]), "order": float(a[i])}))
    sys.exit(0)

raise SystemExit("unknown command " + cmd)
