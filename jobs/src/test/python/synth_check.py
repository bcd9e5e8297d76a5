"""Independent checks of `weightlab synth` output (issue #8).

usage: synth_check.py OUT_DIR [OTHER_DIR]
Loads OUT_DIR with transformers (AutoModelForCausalLM: the architecture its config names) and reports missing /
unexpected / mismatched keys, runs a forward pass, and for every tensor the std and mean of its values; for the
largest tensor of each module kind the generalized-Gaussian shape fitted by scipy.stats.gennorm.fit (location
fixed at the sample mean) on a seeded 200k-element sample. With OTHER_DIR: whether every tensor is bit-identical.
"""
import json, os, sys

import numpy as np
import torch
import wl_tensors
from scipy import stats
from transformers import AutoModelForCausalLM



def tensors(d):
    return wl_tensors.tensors(d, "torch")


def main():
    d = sys.argv[1]
    model, info = AutoModelForCausalLM.from_pretrained(d, output_loading_info=True, torch_dtype=torch.float32)
    with torch.no_grad():
        logits = model(torch.arange(8).unsqueeze(0)).logits
    sd = tensors(d)
    per = {}
    for name, t in sd.items():
        v = t.float().numpy().ravel().astype(np.float64)
        per[name] = {"n": int(v.size), "mean": float(v.mean()), "std": float(v.std()), "dtype": str(t.dtype)}
    prov = json.load(open(os.path.join(d, "weightlab_provenance.json")))
    kinds = {}
    for row in prov["tensors"]:
        k = row["module_kind"]
        if per[row["name"]]["n"] > kinds.get(k, ("", 0))[1]:
            kinds[k] = (row["name"], per[row["name"]]["n"])
    rng = np.random.default_rng(0)
    fits = {}
    for k, (name, n) in kinds.items():
        v = sd[name].float().numpy().ravel().astype(np.float64)
        if n < 5000:
            continue
        s = rng.choice(v, size=min(n, 200_000), replace=False)
        beta, loc, scale = stats.gennorm.fit(s, floc=float(s.mean()))
        fits[k] = {"tensor": name, "beta": float(beta), "scale": float(scale)}
    res = {"missing": list(info["missing_keys"]), "unexpected": list(info["unexpected_keys"]),
           "mismatched": [str(x) for x in info.get("mismatched_keys", [])], "logits_finite": bool(torch.isfinite(logits).all()),
           "class": type(model).__name__, "tensors": per, "fits": fits, "count": len(sd)}
    if len(sys.argv) > 2:
        other = tensors(sys.argv[2])
        res["identical"] = sorted(other) == sorted(sd) and all(torch.equal(other[k], sd[k]) for k in sd)
    print(json.dumps(res))


main()
