"""Checks a `weightlab lora-init` output with real PEFT (docs/algorithms.md §3.1, §3.3, §4).

usage: peft_check.py BASE_DIR OUT_DIR METHOD R ALPHA TARGETS(comma-separated)
Prints JSON: merged_rel_err (PEFT loads our adapter onto our residual; merge_and_unload vs the base, max over
tensors of max|merged-base|/max|base|), peft_same_rel_diff (PEFT's own init of METHOD on the base: max over
modules of max|sBA_ours - sBA_peft| / max|sBA_peft|; sign-invariant), spectral_rel_err (|‖W_res‖₂/σ_{r+1} − 1|,
pissa only), aat_diag_rel_err (AAᵀ vs diag(σ_r/s), pissa only), minor_kept_rel_err (milora: top singular values
of W_res vs those of W). For pissa_niter_K: sketch_rel_err, max over modules of ‖W_res‖₂/σ_{r+1} − 1 for our
residual, and peft_sketch_rel_err, the same for PEFT's own pissa_niter_K init of the base (a different Ω).
"""
import sys, json
import numpy as np
import torch
from transformers import BertModel
from peft import PeftModel, LoraConfig, get_peft_model
from safetensors.torch import load_file

base_dir, out, method, r, alpha, targets = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6].split(",")
s = alpha / r
base = BertModel.from_pretrained(base_dir, add_pooling_layer=False)
base_sd = {k: v.clone() for k, v in base.state_dict().items()}
res = {}

import os
has_residual = os.path.isdir(out + "/residual")
residual = BertModel.from_pretrained(out + "/residual" if has_residual else base_dir, add_pooling_layer=False)
peft = PeftModel.from_pretrained(residual, out + "/adapter")
merged = peft.merge_and_unload().state_dict()
res["merged_rel_err"] = max(float((merged[k].double() - v.double()).abs().max() / max(v.double().abs().max(), 1e-30)) for k, v in base_sd.items() if k in merged)

ad = load_file(out + "/adapter/adapter_model.safetensors")
ours = {}
for k, a in ad.items():
    if k.endswith("lora_A.weight"):
        mod = k[len("base_model.model."):-len(".lora_A.weight")]
        ours[mod] = (s * ad[k.replace("lora_A", "lora_B")].double() @ a.double())
if method in ("pissa", "olora"):
    fresh = BertModel.from_pretrained(base_dir, add_pooling_layer=False)
    pm = get_peft_model(fresh, LoraConfig(r=r, lora_alpha=alpha, target_modules=targets, init_lora_weights=method))
    worst = 0.0
    for name, mod in pm.named_modules():
        if hasattr(mod, "lora_A") and "default" in getattr(mod, "lora_A", {}):
            key = name[len("base_model.model."):]
            theirs = mod.scaling["default"] * (mod.lora_B["default"].weight.double() @ mod.lora_A["default"].weight.double())
            worst = max(worst, float((ours[key] - theirs).abs().max() / theirs.abs().max()))
    res["peft_same_rel_diff"] = worst
rs = load_file(out + "/residual/model.safetensors") if has_residual else None
if method.startswith("pissa_niter_"):
    fresh = BertModel.from_pretrained(base_dir, add_pooling_layer=False)
    pm = get_peft_model(fresh, LoraConfig(r=r, lora_alpha=alpha, target_modules=targets, init_lora_weights=method))
    ours_q, theirs_q = 0.0, 0.0
    for name, mod in pm.named_modules():
        if hasattr(mod, "lora_A") and "default" in getattr(mod, "lora_A", {}):
            key = name[len("base_model.model."):]
            sv = np.linalg.svd(base_sd[key + ".weight"].double().numpy(), compute_uv=False)
            ours_q = max(ours_q, np.linalg.norm(rs[key + ".weight"].double().numpy(), 2) / sv[r] - 1)
            theirs_q = max(theirs_q, np.linalg.norm(mod.base_layer.weight.double().detach().numpy(), 2) / sv[r] - 1)
    res["sketch_rel_err"], res["peft_sketch_rel_err"] = float(ours_q), float(theirs_q)
spec, aat, kept = 0.0, 0.0, 0.0
for mod, dw in ours.items():
    w = base_sd[mod + ".weight"].double().numpy()
    sv = np.linalg.svd(w, compute_uv=False)
    if method == "pissa":
        wr = rs[mod + ".weight"].double().numpy()
        spec = max(spec, abs(np.linalg.norm(wr, 2) / sv[r] - 1))
        a = ad["base_model.model." + mod + ".lora_A.weight"].double().numpy()
        g = a @ a.T
        aat = max(aat, float(np.abs(g - np.diag(sv[:r] / s)).max() / (sv[0] / s)))
    if method == "milora":
        wr = rs[mod + ".weight"].double().numpy()
        svr = np.linalg.svd(wr, compute_uv=False)
        k = len(sv) - r
        kept = max(kept, float(np.abs(svr[:k] - sv[:k]).max() / sv[0]))
res["spectral_rel_err"] = spec
res["aat_diag_rel_err"] = aat
res["minor_kept_rel_err"] = kept
print(json.dumps(res))
