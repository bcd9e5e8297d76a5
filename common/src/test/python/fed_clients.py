"""Small federated clients for the Spark-free client tests, written by the reference safetensors library, and numpy's
numbers for them: each good client's sample variance per tensor (ddof=1), NaN/Inf counts and whole-model update norm
against the reference.

usage: fed_clients.py DIR   -> writes DIR/<client>/model.safetensors and DIR/<adapter>/..., prints JSON
"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import save_file


def save(d, name, tensors, metadata=None):
    os.makedirs(os.path.join(d, name), exist_ok=True)
    save_file(tensors, os.path.join(d, name, "model.safetensors"), metadata=metadata)


def main(d):
    g = np.random.default_rng(7)
    ref = {"w": g.standard_normal((4, 3)).astype(np.float32), "b": g.standard_normal(3).astype(np.float32),
           "step": np.array([3], dtype=np.int64)}
    save(d, "reference", ref)
    out = {"clients": {}}
    for k, scale in enumerate([0.01, 0.02, 0.015, 0.03, 10.0]):  # client good4 is the outlier
        c = {n: (v + scale * g.standard_normal(v.shape).astype(np.float32)) if v.dtype == np.float32 else v for n, v in ref.items()}
        save(d, f"good{k}", c)
        upd = sum(float(np.sum((c[n].astype(np.float64) - ref[n].astype(np.float64)) ** 2)) for n in ("w", "b"))
        out["clients"][f"good{k}"] = {"var_w": float(np.var(c["w"].astype(np.float64), ddof=1)),
                                      "var_b": float(np.var(c["b"].astype(np.float64), ddof=1)),
                                      "update_norm": upd ** 0.5}
    out["ref_var_w"] = float(np.var(ref["w"].astype(np.float64), ddof=1))
    norms = np.array([out["clients"][f"good{k}"]["update_norm"] for k in range(5)])
    med = np.median(norms)
    mad = 1.4826 * np.median(np.abs(norms - med))
    out["outliers_z3"] = [f"good{k}" for k in range(5) if norms[k] > med + 3 * mad]

    nan = dict(ref)
    nan["w"] = ref["w"].copy()
    nan["w"][1, 2] = np.nan
    nan["w"][0, 0] = np.inf
    save(d, "nan", nan)
    save(d, "extra", {**ref, "x": np.zeros(2, np.float32)})
    save(d, "renamed", {"w2": ref["w"], "b": ref["b"], "step": ref["step"]})
    save(d, "shape", {"w": ref["w"].reshape(3, 4).copy(), "b": ref["b"], "step": ref["step"]})
    save(d, "intb", {"w": ref["w"], "b": np.array([1, 2, 3], np.int32), "step": ref["step"]})

    # LoRA adapters: module q of in 3, out 4; rank 2 with alpha 4 (scaling 2), a rank-mismatching config, a wider module.
    def adapter(name, a, b, cfg):
        os.makedirs(os.path.join(d, name), exist_ok=True)
        save_file({"base_model.model.q.lora_A.weight": a, "base_model.model.q.lora_B.weight": b},
                  os.path.join(d, name, "adapter_model.safetensors"))
        with open(os.path.join(d, name, "adapter_config.json"), "w") as f:
            json.dump({"peft_type": "LORA", **cfg}, f)

    a2, b2 = g.standard_normal((2, 3)).astype(np.float32), g.standard_normal((4, 2)).astype(np.float32)
    adapter("lora0", a2, b2, {"r": 2, "lora_alpha": 4})
    adapter("lora1", a2, b2, {"r": 2, "lora_alpha": 4, "use_rslora": True})
    adapter("lora_rank", a2, b2, {"r": 8, "lora_alpha": 16})
    adapter("lora_wide", g.standard_normal((2, 5)).astype(np.float32), b2, {"r": 2, "lora_alpha": 4})
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
