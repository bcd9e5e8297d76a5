"""Clients for the fedavg tests, made from a real checkpoint, and numpy/scipy's answer for the same round.

usage: fed_check.py make BASE_DIR OUT_DIR K [--identical] [--poison ID] [--nan ID]
         OUT_DIR/<id>/model.safetensors (+ client.json {"examples"}), OUT_DIR/manifest.json with reference = BASE_DIR.
         Client k = base + N(0, (0.05·std_t)²) per tensor (seeded); --poison: that client's update x1000;
         --nan: one NaN in that client's first 2-D tensor; --identical: every client = base.
       fed_check.py adam OUT_DIR RESULT1 RESULT2 ETA BETA1 BETA2 TAU
         two FedAdam rounds on the same clients (reference of round 2 = round 1's model, state from round 1's
         server_state): prints max_rel_diff of each round's model and of round 1's m and v against numpy's formulas
       fed_check.py report OUT_DIR RESULT_DIR KEPT_IDS(comma)
         the round report's numbers recomputed with numpy (FedAvg weights by examples, reference = manifest's): max
         relative differences of update_norm and cosine_to_mean_update per kept client, and of client_spread and
         mean_update_norm per tensor
       fed_check.py check OUT_DIR RESULT_DIR METHOD KEPT_IDS(comma) [BETA] [EPS]
         prints JSON: max_rel_diff (ours vs numpy over every float tensor), and for METHOD=varcorr the worst
         |Var(w')/target − 1| over 2-D tensors, target = mean client variance (ddof=1).
"""
import sys, json, os, glob
import numpy as np
from safetensors.numpy import load_file, save_file

def load(d):
    out = {}
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        out.update(load_file(f))
    return out

if sys.argv[1] == "make":
    base_dir, out, k = sys.argv[2], sys.argv[3], int(sys.argv[4])
    args = sys.argv[5:]
    identical = "--identical" in args
    poison = args[args.index("--poison") + 1] if "--poison" in args else None
    nan = args[args.index("--nan") + 1] if "--nan" in args else None
    base = load(base_dir)
    clients = []
    for i in range(k):
        cid = f"c{i}"
        rng = np.random.default_rng(100 + i)
        t = {}
        first2d = True
        for name, w in base.items():
            if not np.issubdtype(w.dtype, np.floating):
                t[name] = w
                continue
            x = w.astype(np.float64)
            if not identical:
                noise = rng.standard_normal(x.shape) * 0.05 * (x.std() if x.size > 1 else 0.0)
                x = x + noise * (1000.0 if cid == poison else 1.0)
            x = x.astype(w.dtype)
            if cid == nan and x.ndim == 2 and first2d:
                x = x.copy(); x.flat[7] = np.nan; first2d = False
            t[name] = np.ascontiguousarray(x)
        os.makedirs(os.path.join(out, cid), exist_ok=True)
        save_file(t, os.path.join(out, cid, "model.safetensors"), metadata={"format": "pt"})
        ex = 100 * (i + 1)
        json.dump({"examples": ex}, open(os.path.join(out, cid, "client.json"), "w"))
        clients.append({"id": cid, "uri": os.path.join(out, cid), "examples": ex})
    json.dump({"round": 3, "reference": base_dir, "clients": clients}, open(os.path.join(out, "manifest.json"), "w"), indent=1)
    print(json.dumps({"clients": k}))
    sys.exit(0)

def rel(a, b):
    return float(np.abs(a.astype(np.float64) - b).max() / max(np.abs(b).max(), 1e-30))

if sys.argv[1] == "adam":
    out, r1, r2 = sys.argv[2], sys.argv[3], sys.argv[4]
    eta, b1, b2, tau = map(float, sys.argv[5:9])
    m = json.load(open(os.path.join(out, "manifest.json")))
    xs = [load(c["uri"]) for c in m["clients"]]
    ex = np.array([c["examples"] for c in m["clients"]], dtype=np.float64)
    p = ex / ex.sum()
    x0 = load(m["reference"])
    got1, got2 = load(os.path.join(r1, "model")), load(os.path.join(r2, "model"))
    m1s, v1s = load(os.path.join(r1, "server_state", "m")), load(os.path.join(r1, "server_state", "v"))
    res = {"round1": 0.0, "m1": 0.0, "v1": 0.0, "round2": 0.0}
    for name, w in got1.items():
        if not np.issubdtype(w.dtype, np.floating):
            continue
        y = np.zeros(w.shape)
        for k in range(len(p)):
            y = y + p[k] * xs[k][name].astype(np.float64)
        def step(x, mm, vv, t):
            d = y - x
            mm = b1 * mm + (1 - b1) * d
            vv = b2 * vv + (1 - b2) * d * d
            e = eta * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            return x + e * mm / (np.sqrt(vv) + tau), mm, vv
        x1, mm1, vv1 = step(x0[name].astype(np.float64), 0.0, 0.0, 1)
        res["round1"] = max(res["round1"], rel(w, x1))
        res["m1"] = max(res["m1"], rel(m1s[name], mm1))
        res["v1"] = max(res["v1"], rel(v1s[name], vv1))
        x2, _, _ = step(w.astype(np.float64), m1s[name].astype(np.float64), v1s[name].astype(np.float64), 2)
        res["round2"] = max(res["round2"], rel(got2[name], x2))
    print(json.dumps(res))
    sys.exit(0)

if sys.argv[1] == "report":
    out, result, kept = sys.argv[2], sys.argv[3], sys.argv[4].split(",")
    m = json.load(open(os.path.join(out, "manifest.json")))
    specs = [c for c in m["clients"] if c["id"] in kept]
    xs = [load(c["uri"]) for c in specs]
    ex = np.array([c["examples"] for c in specs], dtype=np.float64)
    p = ex / ex.sum()
    ref = load(m["reference"])
    rep = json.load(open(os.path.join(result, "round_report.json")))
    rows = {r["name"]: r for r in rep["tensors"]}
    dots, sq, msq = np.zeros(len(xs)), np.zeros(len(xs)), 0.0
    res = {"spread": 0.0, "mean_update_norm": 0.0}
    for name, r in ref.items():
        if not np.issubdtype(r.dtype, np.floating):
            continue
        r = r.astype(np.float64)
        stack = [x[name].astype(np.float64) for x in xs]
        mean = np.zeros(r.shape)
        for k in range(len(p)):
            mean = mean + p[k] * stack[k]
        spread = sum(p[k] * np.sum((stack[k] - mean) ** 2) for k in range(len(p))) / r.size
        res["spread"] = max(res["spread"], abs(rows[name]["client_spread"] - spread) / max(spread, 1e-300))
        mu = np.sqrt(np.sum((mean - r) ** 2))
        res["mean_update_norm"] = max(res["mean_update_norm"], abs(rows[name]["mean_update_norm"] - mu) / max(mu, 1e-300))
        msq += mu * mu
        for k in range(len(p)):
            dots[k] += np.sum((stack[k] - r) * (mean - r))
            sq[k] += np.sum((stack[k] - r) ** 2)
    clients = {c["id"]: c for c in rep["clients"]}
    res["update_norm"] = max(abs(clients[c["id"]]["update_norm"] / np.sqrt(sq[k]) - 1) for k, c in enumerate(specs))
    res["cosine"] = max(abs(clients[c["id"]]["cosine_to_mean_update"] - dots[k] / np.sqrt(sq[k] * msq)) for k, c in enumerate(specs))
    print(json.dumps(res))
    sys.exit(0)

out, result, method, kept = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].split(",")
beta = float(sys.argv[6]) if len(sys.argv) > 6 else 0.2
m = json.load(open(os.path.join(out, "manifest.json")))
specs = [c for c in m["clients"] if c["id"] in kept]
xs = [load(c["uri"]) for c in specs]
ex = np.array([c["examples"] for c in specs], dtype=np.float64)
p = ex / ex.sum()
got = load(os.path.join(result, "model"))
worst, var_err = 0.0, 0.0
from scipy import stats
for name, w in got.items():
    if not np.issubdtype(w.dtype, np.floating):
        continue
    stack = np.stack([x[name].astype(np.float64) for x in xs])
    if method in ("fedavg", "varcorr"):
        want = np.zeros(stack.shape[1:])
        for k in range(len(p)):  # the documented order: clients in manifest order, each term rounded once
            want = want + p[k] * stack[k]
    elif method == "median":
        want = np.median(stack, axis=0)
    elif method == "trimmed-mean":
        want = stats.trim_mean(stack, beta, axis=0)
    if method == "varcorr" and w.ndim == 2:
        target = np.mean([s.var(ddof=1) for s in stack])
        var_err = max(var_err, abs(w.astype(np.float64).var(ddof=1) / target - 1))
        continue
    want32 = want.astype(w.dtype).astype(np.float64)
    worst = max(worst, float(np.abs(w.astype(np.float64) - want32).max() / max(np.abs(want32).max(), 1e-30)))
print(json.dumps({"max_rel_diff": worst, "variance_rel_err": var_err, "tensors": len(got)}))
