"""Oracle for `weightlab merge --screen` (docs/algorithms.md §32.8).

check SCREEN_DIR MERGED.json
    MERGED.json maps a candidate name to a directory holding that candidate's merge written in float64 (by
    `merge --config ... --out-dtype F64` or `--write-top` with `--out-dtype F64`). Recomputes, in numpy float64 from the
    base, the screen's models and the merged tensors, every metric of SCREEN_DIR/screen_tensors.jsonl for those
    candidates and the whole-model cosines and sign agreements of screen.json; prints JSON: per metric the worst
    relative error |screen - numpy| / |numpy| (|numpy| below 1e-3 counts as 1e-3: a difference of nearly equal values
    has no relative accuracy), energy-rank mismatches, rows checked.

    Where the screen has an `alpha` (`--spectra-alpha`): WeightWatcher's power-law alpha of the merged matrix from
    numpy.linalg.svd's singular values (eigenvalues lambda = sigma^2 > 1e-5, as `spectrum`) and the WeightWatcher scan of
    common/src/test/python/plfit_reference.py (pl_fit: the xmin of the smallest KS distance), not the Java code.
"""
import json, os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "common", "src", "test", "python"))
from wl_tensors import tensors


def kurtosis(v):
    c = v - v.mean()
    m2 = np.mean(c * c)
    return np.mean(c ** 4) / (m2 * m2) - 3.0 if m2 > 0 else None


def check(screen_dir, merged_json):
    doc = json.load(open(os.path.join(screen_dir, "screen.json")))
    run = doc["run"]
    base = {k: v.astype(np.float64) for k, v in tensors(run["base_model"]).items()}
    models = [{k: v.astype(np.float64) for k, v in tensors(m).items()} for m in run["models"]]
    merged_dirs = json.load(open(merged_json))
    rows = [json.loads(l) for l in open(os.path.join(screen_dir, "screen_tensors.jsonl"))]
    worst, checked, rank_mismatch, spectra, alphas = {}, 0, 0, 0, 0
    totals = {}

    null_mismatches = []

    def err(key, got, want):
        if want is None or got is None:
            if (want is None) != (got is None):
                null_mismatches.append([key, str(got), str(want), err.here])
            return
        e = abs(got - want) / max(abs(want), 1e-3)
        if not np.isfinite(e):
            null_mismatches.append([key, str(got), str(want), err.here])
            return
        worst[key] = max(worst.get(key, 0.0), e)

    cache = {}
    for r in rows:
        c = r["candidate"]
        if c not in merged_dirs:
            continue
        if c not in cache:
            cache[c] = {k: v for k, v in tensors(merged_dirs[c]).items()}
            assert all(v.dtype == np.float64 for v in cache[c].values()), c + ": the merge must be written in float64"
        name = r["name"]
        m = cache[c][name].astype(np.float64).ravel()
        b = base[name].ravel()
        d = m - b
        t = totals.setdefault(c, {"dd": 0.0, "dot": np.zeros(len(models)), "tt": np.zeros(len(models)),
                                  "both": np.zeros(len(models)), "same": np.zeros(len(models))})
        t["dd"] += d @ d
        err.here = [c, name]
        err("norm", r["norm"], np.linalg.norm(m))
        err("delta_norm", r["delta_norm"], np.linalg.norm(d))
        err("rel_change", r["rel_change"], np.linalg.norm(d) / np.linalg.norm(b))
        err("std_ratio_base", r["std_ratio_base"], m.std() / b.std() if b.std() > 0 else None)  # norm weights start constant
        for i, x in enumerate(models):
            xv = x[name].ravel()
            tau = xv - b
            err("norm_ratio_models", r["norm_ratio_models"][i], np.linalg.norm(m) / np.linalg.norm(xv))
            err("std_ratio_models", r["std_ratio_models"][i], m.std() / xv.std())
            nd, nt = np.linalg.norm(d), np.linalg.norm(tau)
            err("cosine_tau", r["cosine_tau"][i], (d @ tau) / (nd * nt) if nd > 0 and nt > 0 else None)
            both = (d != 0) & (tau != 0)
            same = both & (np.sign(d) == np.sign(tau))
            err("sign_agreement", r["sign_agreement"][i], same.sum() / both.sum() if both.sum() > 0 else None)
            t["dot"][i] += d @ tau
            t["tt"][i] += tau @ tau
            t["both"][i] += both.sum()
            t["same"][i] += same.sum()
        err("delta_kurtosis", r["delta_kurtosis"], kurtosis(d))
        if r["delta_stable_rank"] is not None:
            spectra += 1
            sv = np.linalg.svd(d.reshape(r["shape"]), compute_uv=False)
            err("delta_stable_rank", r["delta_stable_rank"], (d @ d) / sv[0] ** 2)
            e = np.cumsum(sv ** 2) / np.sum(sv ** 2)
            want = int(np.searchsorted(e, 0.9 - 1e-12) + 1)
            if want != r["delta_energy_rank"]:
                rank_mismatch += 1
        if r.get("alpha") is not None:
            from plfit_reference import pl_fit, MIN_EVAL
            alphas += 1
            lam = np.sort(np.linalg.svd(m.reshape(r["shape"]), compute_uv=False) ** 2)
            fit = pl_fit(lam[lam > MIN_EVAL])
            err("alpha", r["alpha"], fit["alpha"] if fit is not None else None)
        checked += 1
    for c in doc["candidates"]:
        if c["name"] not in totals:
            continue
        t = totals[c["name"]]
        for i in range(len(models)):
            err("candidate_cosine_tau", c["cosine_tau"][i], t["dot"][i] / np.sqrt(t["dd"] * t["tt"][i]))
            err("candidate_sign_agreement", c["sign_agreement"][i], t["same"][i] / t["both"][i])
        cos = [t["dot"][i] / np.sqrt(t["dd"] * t["tt"][i]) for i in range(len(models))]
        err("candidate_mean_cosine", c["mean_cosine"], float(np.mean(cos)))
    print(json.dumps({"rows": checked, "candidates": len(totals), "spectra": spectra, "alphas": alphas, "energy_rank_mismatches": rank_mismatch,
                      "null_mismatches": null_mismatches[:10],
                      "worst": worst}))


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: screen_check.py check SCREEN_DIR MERGED.json")
