"""Checks `weightlab lora-init` outputs of the data-driven methods with numpy and real PEFT (docs/algorithms.md §3.5-3.7).

usage: lora_data_check.py eva     BASE OUT IDS_JSONL R ALPHA RHO N_MODULES
       lora_data_check.py lora_ga BASE OUT GRADS R ALPHA VARIANT   (VARIANT peft also runs PEFT's own lora_ga)
       lora_data_check.py lora_sb BASE OUT GRADS R ALPHA ETA
       lora_data_check.py energy  BASE_SAFETENSORS OUT ENERGY   (numpy's energy ranks vs the written rank_pattern)
Prints one JSON object of measured errors; the Java test holds the tolerances.
"""
import sys, json, os
import numpy as np
import torch
from transformers import LlamaForCausalLM
from peft import PeftModel, LoraConfig, get_peft_model
from safetensors.numpy import load_file

mode, base_dir, out = sys.argv[1], sys.argv[2], sys.argv[3]
cfg = json.load(open(out + "/adapter/adapter_config.json"))
if mode == "energy":
    e, w = float(sys.argv[4]), load_file(base_dir)
    expected = {}
    for m in cfg["rank_pattern"]:
        sv = np.linalg.svd(w[m + ".weight"].astype(np.float64), compute_uv=False)
        frac = np.cumsum(sv ** 2) / np.sum(sv ** 2)
        expected[m] = int(np.searchsorted(frac, e * (1 - 1e-12)) + 1)
    ad = load_file(out + "/adapter/adapter_model.safetensors")
    shapes_ok = all(ad[f"base_model.model.{m}.lora_A.weight"].shape[0] == r for m, r in cfg["rank_pattern"].items())
    print(json.dumps({"expected": expected, "written": cfg["rank_pattern"], "shapes_ok": shapes_ok}))
    sys.exit(0)
ad = {k: v.astype(np.float64) for k, v in load_file(out + "/adapter/adapter_model.safetensors").items()}
mods = sorted(k[len("base_model.model."):-len(".lora_A.weight")] for k in ad if k.endswith("lora_A.weight"))
A = {m: ad[f"base_model.model.{m}.lora_A.weight"] for m in mods}
B = {m: ad[f"base_model.model.{m}.lora_B.weight"] for m in mods}
base_sd = {k: v.double().numpy() for k, v in LlamaForCausalLM.from_pretrained(base_dir).state_dict().items()}
res = {"modules": len(mods)}


def proj_rows(a):  # orthogonal projector onto the row space of a
    q, _ = np.linalg.qr(a.T)
    return q @ q.T


def merged_rel_err(residual_dir, scale):
    m = LlamaForCausalLM.from_pretrained(residual_dir)
    merged = PeftModel.from_pretrained(m, out + "/adapter").merge_and_unload().state_dict()
    return max(float(np.abs(merged[k].double().numpy() - v).max() / max(np.abs(v).max(), 1e-30)) for k, v in base_sd.items() if k in merged)


if mode == "eva":
    ids_file, r, alpha, rho, n_mod = sys.argv[4], int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
    rp, ap = cfg["rank_pattern"], cfg["alpha_pattern"]
    res["rank_sum"], res["budget"] = sum(rp.values()), r * n_mod
    res["max_rank"], res["rank_cap"] = max(rp.values()), int(round(r * rho))
    res["alpha_ratio_err"] = max(abs(ap[m] / rp[m] - alpha / r) for m in rp)
    res["shape_mismatch"] = sum(A[m].shape[0] != rp[m] for m in mods)
    res["b_max_abs"] = max(float(np.abs(B[m]).max()) for m in mods)
    res["aat_err"] = max(float(np.abs(A[m] @ A[m].T - np.eye(len(A[m]))).max()) for m in mods)
    # Independent covariance: every module's raw inputs over the same tokens, numpy's cov (ddof=1) and eigh.
    model = LlamaForCausalLM.from_pretrained(base_dir).eval()
    inputs = {m: [] for m in mods}
    hooks = [model.get_submodule(m).register_forward_pre_hook(lambda mod, i, m=m: inputs[m].append(i[0].detach().reshape(-1, i[0].shape[-1]).double().numpy())) for m in mods]
    seqs = [json.loads(l) for l in open(ids_file) if l.strip()]
    with torch.no_grad():
        for s in seqs:  # one sequence per forward: no padding, so every token counts
            model(input_ids=torch.tensor([s]))
    for h in hooks:
        h.remove()
    worst = 0.0
    for m in mods:
        x = np.concatenate(inputs[m])
        w, v = np.linalg.eigh(np.cov(x, rowvar=False))
        top = v[:, ::-1][:, : A[m].shape[0]].T
        worst = max(worst, float(np.linalg.norm(proj_rows(top) - proj_rows(A[m]), 2)))
    res["projector_vs_numpy"] = worst
    res["merged_rel_err"] = merged_rel_err(base_dir, None)
elif mode == "lora_ga":
    grads = load_file(sys.argv[4])
    r, alpha, variant = int(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
    s = alpha / r
    res["merged_rel_err"] = merged_rel_err(out + "/residual", s)
    span, norm_a, norm_b = 0.0, 0.0, 0.0
    for m in mods:
        g = grads[m + ".weight"].astype(np.float64)
        _, _, vt = np.linalg.svd(g)
        span = max(span, float(np.linalg.norm(proj_rows(vt[:r]) - proj_rows(A[m]), 2)))
        mo = g.shape[0]
        expect = np.sqrt(r) * mo ** 0.25 / 4.0  # stable scale, gamma 16
        norm_a = max(norm_a, abs(np.linalg.norm(A[m]) / expect - 1))
        norm_b = max(norm_b, abs(np.linalg.norm(B[m]) / expect - 1))
    res["span_a_vs_numpy"] = span
    res["norm_a_rel_err"], res["norm_b_rel_err"] = norm_a, norm_b
    if variant == "peft":  # PEFT's own lora_ga on the same gradients: compare sign/rotation-invariant AᵀA and BBᵀ
        from peft import LoraGAConfig
        model = LlamaForCausalLM.from_pretrained(base_dir)
        for m in mods:
            model.get_submodule(m)._peft_loraga_grad = torch.from_numpy(grads[m + ".weight"].copy())
        pm = get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, target_modules=mods, init_lora_weights="lora_ga", lora_ga_config=LoraGAConfig()))
        da, db = 0.0, 0.0
        for m in mods:
            layer = pm.base_model.model.get_submodule(m)
            pa = layer.lora_A["default"].weight.double().detach().numpy()
            pb = layer.lora_B["default"].weight.double().detach().numpy()
            da = max(da, float(np.abs(pa.T @ pa - A[m].T @ A[m]).max() / np.abs(pa.T @ pa).max()))
            db = max(db, float(np.abs(pb @ pb.T - B[m] @ B[m].T).max() / np.abs(pb @ pb.T).max()))
        res["peft_ata_rel_diff"], res["peft_bbt_rel_diff"] = da, db
elif mode == "lora_sb":
    grads = load_file(sys.argv[4])
    r, alpha, eta = int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
    s = alpha / r
    trunc, aat = 0.0, 0.0
    for m in mods:
        step = -eta * np.sign(grads[m + ".weight"].astype(np.float64))
        u, sv, vt = np.linalg.svd(step)
        best = (u[:, :r] * sv[:r]) @ vt[:r]
        trunc = max(trunc, float(np.abs(s * B[m] @ A[m] - best).max() / np.abs(best).max()))
        aat = max(aat, float(np.abs(A[m] @ A[m].T - np.eye(r)).max()))
    res["truncation_rel_err"], res["aat_err"] = trunc, aat
    model = PeftModel.from_pretrained(LlamaForCausalLM.from_pretrained(base_dir), out + "/adapter")
    merged = model.merge_and_unload().state_dict()
    res["merged_delta_rel_err"] = max(float(np.abs(merged[m + ".weight"].double().numpy() - base_sd[m + ".weight"] - s * B[m] @ A[m]).max()
                                            / np.abs(s * B[m] @ A[m]).max()) for m in mods)
print(json.dumps(res))
