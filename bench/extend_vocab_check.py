#!/usr/bin/env python3
"""Checks `extend-vocab --method gaussian` on a large checkpoint with numpy, in bounded memory: every tensor but the
grown ones byte-identical, the grown ones' old rows byte-identical, and the K new rows of each (embedding, untied
head) with the mean and per-dimension variance of N(mu, kappa*Sigma) fitted (float64, in row blocks) to the old rows:
|mean - mu| within 5 standard errors, variance within 5 standard errors (sqrt(2/K) relative).
usage: extend_vocab_check.py SRC OUT K KAPPA"""
import json, os, struct, sys
import numpy as np

BLOCK = 8192


def catalog(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    files = sorted(set(json.load(open(idx))["weight_map"].values())) if os.path.exists(idx) else ["model.safetensors"]
    out = {}
    for f in files:
        p = os.path.join(d, f)
        with open(p, "rb") as fh:
            n = struct.unpack("<Q", fh.read(8))[0]
            header = json.loads(fh.read(n))
        for name, t in header.items():
            if name != "__metadata__":
                out[name] = (p, 8 + n + t["data_offsets"][0], t["data_offsets"][1] - t["data_offsets"][0], t["dtype"], t["shape"])
    return out


def same_bytes(a, b, length):
    with open(a[0], "rb") as fa, open(b[0], "rb") as fb:
        fa.seek(a[1]); fb.seek(b[1])
        left = length
        while left:
            n = min(left, 64 << 20)
            if fa.read(n) != fb.read(n):
                return False
            left -= n
    return True


def rows(t, start, stop):
    """Rows [start, stop) of a BF16 matrix as float64."""
    p, off, _, dtype, shape = t
    assert dtype == "BF16", dtype
    d = shape[1]
    raw = np.fromfile(p, dtype=np.uint16, count=(stop - start) * d, offset=off + start * d * 2)
    return (raw.astype(np.uint32) << 16).view(np.float32).astype(np.float64).reshape(stop - start, d)


def fit(t, n):
    d = t[4][1]
    mu = np.zeros(d)
    for s in range(0, n, BLOCK):
        mu += rows(t, s, min(n, s + BLOCK)).sum(0)
    mu /= n
    var = np.zeros(d)
    for s in range(0, n, BLOCK):
        x = rows(t, s, min(n, s + BLOCK)) - mu
        var += (x * x).sum(0)
    return mu, var / n  # Sigma's diagonal (population, as the job and Hewitt's code fit it)


def main(src, out, k, kappa):
    a, b = catalog(src), catalog(out)
    assert set(a) == set(b), set(a) ^ set(b)
    report = {"tensors": len(a)}
    grown = [n for n in a if n.endswith("embed_tokens.weight") or n == "lm_head.weight"]
    others = [n for n in a if n not in grown]
    report["others_identical"] = all(a[n][2] == b[n][2] and same_bytes(a[n], b[n], a[n][2]) for n in others)
    for name in grown:
        n = a[name][4][0]
        assert b[name][4][0] == n + k, (name, b[name][4])
        old_ok = same_bytes(a[name], b[name], a[name][2])
        mu, sigma2 = fit(a[name], n)
        new = rows(b[name], n, n + k)
        z_mean = (new.mean(0) - mu) / np.sqrt(kappa * sigma2 / k)
        ratio = new.var(0, ddof=1) / (kappa * sigma2)
        z_var = (ratio - 1) / np.sqrt(2 / (k - 1))
        report[name] = {"old_rows_identical": old_ok, "new_rows": k, "max_abs_z_mean": float(np.abs(z_mean).max()),
                        "max_abs_z_var": float(np.abs(z_var).max()), "median_var_ratio": float(np.median(ratio))}
    print(json.dumps(report))
    ok = report["others_identical"] and all(report[g]["old_rows_identical"] and report[g]["max_abs_z_mean"] < 5.5
                                            and report[g]["max_abs_z_var"] < 5.5 for g in grown)
    print("[check] " + ("ok" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
