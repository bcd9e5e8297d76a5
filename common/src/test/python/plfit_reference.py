"""Independent numpy/scipy reference for the tail fits beyond plain PL (docs/algorithms.md §7.6).

  make DIR   writes seeded samples DIR/<case>.bin (float64 little-endian, ascending) and DIR/ref.json with, from the
             published definitions (not the Java code): ln Γ(s, x) on a grid (mpmath, which powerlaw itself uses);
             TPL maximum-likelihood fits, normaliser Γ(1-α, Λx_min) = x^s e^{-x} U(1, 1+s, x) (scipy.special.hyperu),
             MLE by scipy.optimize Nelder-Mead run to convergence (restarted until it stops moving), KS distance
             max_j |F(x_j) - j/m|; WeightWatcher's PL scan with powerlaw's tuple-xmin candidates; xmin_peak (np.histogram,
             100 bins); clip_xmax; detX.
"""
import json, os, sys
import numpy as np
import mpmath
from scipy.optimize import minimize
from scipy.special import hyperu

MIN_EVAL = 1e-5


def log_upper_gamma(s, x):
    """ln Γ(s, x) for any real s, x > 0, via Tricomi's U: Γ(s, x) = x^s e^{-x} U(1, 1 + s, x) (DLMF 8.5.3)."""
    return s * np.log(x) - x + np.log(hyperu(1.0, 1.0 + s, x))


def tpl_nll(p, xmin, m, slog, sx):
    a, lam = p[0], np.exp(p[1])
    v = a * slog / m + lam * sx / m - (1 - a) * np.log(lam) + log_upper_gamma(1 - a, lam * xmin)
    return v if np.isfinite(v) else np.inf


def tpl_mle(tail):
    xmin, m = tail[0], len(tail)
    slog, sx = np.sum(np.log(tail)), np.sum(tail)
    p = np.array([1 + m / np.sum(np.log(tail / xmin)), np.log(1 / np.mean(tail))])
    best = np.inf
    for _ in range(4):
        r = minimize(tpl_nll, p, args=(xmin, m, slog, sx), method="Nelder-Mead",
                     options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000, "maxfev": 40000})
        p = r.x
        if not r.fun < best - 1e-15 * abs(r.fun):
            break
        best = r.fun
    return p[0], np.exp(p[1])


def tpl_ks(tail, a, lam):
    m = len(tail)
    g = log_upper_gamma(1 - a, lam * tail)
    cdf = -np.expm1(g - g[0])
    return float(np.max(np.abs(cdf - np.arange(m) / m)))


def candidates(x, lo, hi):
    """powerlaw's xmin=(lo, hi): distinct values in range, the largest dropped (first index of each)."""
    idx = [i for i in range(len(x)) if lo <= x[i] <= hi and (i == 0 or x[i] != x[i - 1])]
    return idx[:-1]


def tpl_fit(x, lo=-np.inf, hi=np.inf):
    best_in, best_out = None, None
    for i in candidates(x, lo, hi):
        a, lam = tpl_mle(x[i:])
        d = tpl_ks(x[i:], a, lam)
        rec = {"alpha": a, "lambda": lam, "xmin": x[i], "D": d, "n": len(x) - i}
        if a > 1 and lam > 0:
            if best_in is None or d < best_in["D"]:
                best_in = rec
        elif best_out is None or d < best_out["D"]:
            best_out = rec
    return best_in or best_out


def pl_at(x, i):
    m = len(x) - i
    a = 1 + m / np.sum(np.log(x[i:] / x[i]))
    d = 1.0 if a <= 1 else float(np.max(np.abs(1 - (x[i:] / x[i]) ** (1 - a) - np.arange(m) / m)))
    return a, d


def pl_fit(x, cands=None):
    """WeightWatcher's scan: first argmin of D over the candidates (every point but the last by default)."""
    cands = range(len(x) - 1) if cands is None else cands
    best = None
    for i in cands:
        a, d = pl_at(x, i)
        if best is None or d < best["D"]:
            best = {"alpha": a, "xmin": x[i], "D": d, "n": len(x) - i}
    return best


def xmin_peak_range(x):
    counts, edges = np.histogram(np.log10(x), bins=100)
    peak = 10 ** edges[np.argmax(counts)]
    return np.log10(0.95 * peak), 1.5 * peak, peak


def clip_xmax(x):
    raw = pl_fit(x)
    for idx in range(2, 10):
        f = pl_fit(x[:-idx])
        if f["alpha"] + 1.0 < raw["alpha"]:
            return f, idx - 1, raw["alpha"]
        if f["alpha"] <= 2:
            break
    return raw, 0, raw["alpha"]


def detx(lam):
    lam = np.sort(lam)
    n = len(lam)
    x = lam * n / np.sum(lam)
    num, idx = n, 1
    for i in range(n - 1, 0, -1):
        if np.prod(x[i:]) < 1:
            num, idx = n - i, i
            break
    return {"num": num, "value": lam[idx], "rescaled": x[idx]}


def truncated_pareto(rng, n, alpha, lam, xmin):
    """powerlaw's sampler: exponential proposals x = xmin - ln(1-r)/Λ accepted with probability (x/xmin)^-α."""
    out = []
    while len(out) < n:
        x = xmin - np.log(1 - rng.random()) / lam
        if rng.random() < (x / xmin) ** -alpha:
            out.append(x)
    return np.sort(np.array(out))


def make(d):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(2020)
    cases = {
        "tpl": truncated_pareto(rng, 150, 1.8, 0.1, 1.0),
        "pareto": np.sort((1 - rng.random(150)) ** (-1 / 2.0)),
    }
    # planted fingers: a Pareto tail (α = 2.5, 200 values from 1) and above it 8 values spaced as the quantiles of a
    # much steeper power law (α = 8) starting at 3x its top; with this seed plain PL fits the fingers alone
    frng = np.random.default_rng(3)
    tail = np.sort((1 - frng.random(200)) ** (-1 / 1.5))
    fingers = tail[-1] * 3 * (1 - np.arange(8) / 8) ** (-1 / 7.0)
    cases["fingers"] = np.sort(np.concatenate([tail, fingers]))
    g = rng.standard_normal((300, 120))
    cases["gauss"] = np.sort(np.linalg.svd(g, compute_uv=False) ** 2)
    for k, v in cases.items():
        v.astype("<f8").tofile(os.path.join(d, k + ".bin"))

    ref = {"sizes": {k: len(v) for k, v in cases.items()}}
    ref["gamma"] = [{"s": s, "x": x, "log": float(mpmath.log(mpmath.gammainc(s, x)))}
                    for s in [-9.7, -5.3, -3.0, -2.0, -1.0001, -1.0, -0.5, -1e-9, 0.0, 1e-9, 0.3, 0.999, 1.0, 2.5]
                    for x in [1e-10, 1e-3, 0.2, 1.0, 1.49, 1.5, 2.0, 7.5, 40.0, 400.0]]
    tpl = cases["tpl"]
    ref["tpl_full"] = tpl_fit(tpl)
    ref["tpl_at_min"] = dict(zip(["alpha", "lambda"], tpl_mle(tpl)))
    ref["tpl_at_min"]["D"] = tpl_ks(tpl, ref["tpl_at_min"]["alpha"], ref["tpl_at_min"]["lambda"])
    ref["pareto_tpl"] = tpl_fit(cases["pareto"])
    f = cases["fingers"]
    ref["fingers_pl"] = pl_fit(f[f > MIN_EVAL])
    lo, hi, peak = xmin_peak_range(f)
    ref["fingers_peak"] = {"lo": lo, "hi": hi, "peak": peak, "pl": pl_fit(f, candidates(f, lo, hi))}
    ref["fingers_etpl"] = tpl_fit(f, lo, hi)
    clipped, num, raw = clip_xmax(f)
    ref["fingers_clip"] = {"pl": clipped, "num_fingers": num, "raw_alpha": raw}
    ref["gauss_detx"] = detx(cases["gauss"])
    dx = ref["gauss_detx"]
    gx = cases["gauss"]
    i = int(np.searchsorted(gx, dx["value"]))
    ref["gauss_detx"]["alpha"], ref["gauss_detx"]["D"] = pl_at(gx, i)
    ref["oracle_detx"] = detx(np.array([0.5, 1, 2, 4, 8.0]))
    json.dump(ref, open(os.path.join(d, "ref.json"), "w"), indent=1, default=float)


if __name__ == "__main__":
    {"make": make}[sys.argv[1]](*sys.argv[2:])
