"""Real PEFT's side of the adapter spectrum test (docs/algorithms.md §17.2).

usage: lora_spectrum_check.py make BASE_DIR ADAPTER_DIR
         a PEFT LoRA on the BertModel in BASE_DIR (query, value, intermediate.dense; r 8, alpha 16, value at r 4 and
         alpha 6 by rank_pattern/alpha_pattern), A and B set to seeded normals (PEFT initialises B to zero), saved
         with save_pretrained; then bad copies beside it: ADAPTER_DIR-missing-b (one lora_B dropped), -shapes (one
         lora_A with a row cut), -nan (one NaN in a lora_A) and ADAPTER_DIR-bad-base/model.safetensors (the base with
         layer 0's query weight one column short)
       lora_spectrum_check.py check BASE_DIR ADAPTER_DIR FACTORS_SV_JSON WITH_BASE_SV_JSON
         prints JSON: per route, the modules compared and the largest |ours - numpy| / sigma_max, numpy being
         np.linalg.svd(s*B@A) and np.linalg.svd(W + s*B@A) in float64, with s, A, B and W as PEFT's loaded model holds them
       lora_spectrum_check.py compare BASE_DIR ADAPTER_DIR COMPARE_JSON
         prints JSON: the largest relative error of each compare column on the adapted modules against numpy on
         W + s*B@A, the modules whose ranks differ, and the untouched tensors that do not show zero change
"""
import sys, json, os, shutil
import numpy as np
import torch
from transformers import BertModel
from peft import PeftModel, LoraConfig, get_peft_model
from safetensors.numpy import load_file, save_file

mode, base_dir, adapter = sys.argv[1], sys.argv[2], sys.argv[3]
W = "adapter_model.safetensors"
if mode == "make":
    model = BertModel.from_pretrained(base_dir, add_pooling_layer=False)
    cfg = LoraConfig(r=8, lora_alpha=16, target_modules=["query", "value", "intermediate.dense"],
                     rank_pattern={"value": 4}, alpha_pattern={"value": 6})
    pm = get_peft_model(model, cfg)
    g = torch.Generator().manual_seed(20)
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if "lora_" in n:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
    pm.save_pretrained(adapter)
    t = load_file(adapter + "/" + W)
    first = sorted(k for k in t if k.endswith("lora_A.weight"))[0]
    for suffix, edit in (("-missing-b", lambda d: d.pop(first.replace("lora_A", "lora_B"))),
                         ("-shapes", lambda d: d.__setitem__(first, d[first][:-1].copy())),
                         ("-nan", lambda d: d[first].__setitem__((0, 0), np.nan))):
        d = dict(t)
        d[first] = t[first].copy()
        edit(d)
        os.makedirs(adapter + suffix)
        shutil.copy(adapter + "/adapter_config.json", adapter + suffix)
        save_file(d, adapter + suffix + "/" + W)
    b = load_file(base_dir + "/model.safetensors")
    q = "encoder.layer.0.attention.self.query.weight"
    b[q] = b[q][:, :-1].copy()
    os.makedirs(adapter + "-bad-base")
    save_file(b, adapter + "-bad-base/model.safetensors")
    print(json.dumps({"modules": sum(1 for k in t if k.endswith("lora_A.weight")), "first": first}))
elif mode == "compare":
    # compare BASE ADAPTER_DIR against numpy: W_t = W + s*B@A in float64 from PEFT's loaded factors
    rows = {r["name"]: r for r in json.load(open(sys.argv[4]))["tensors"]}
    pm = PeftModel.from_pretrained(BertModel.from_pretrained(base_dir, add_pooling_layer=False), adapter)
    res = {"adapted": 0, "unchanged": 0, "unchanged_bad": [], "rank_bad": [], "max_rel_err": {}}
    adapted = set()
    def kurt(x):
        d = x - x.mean()
        return float((d ** 4).mean() / (d ** 2).mean() ** 2 - 3)
    for name, mod in pm.named_modules():
        if not hasattr(mod, "lora_A") or "default" not in mod.lora_A:
            continue
        target = name[len("base_model.model."):] + ".weight"
        adapted.add(target)
        s = mod.scaling["default"]
        B = mod.lora_B["default"].weight.detach().double().numpy()
        A = mod.lora_A["default"].weight.detach().double().numpy()
        W = mod.base_layer.weight.detach().double().numpy()
        D = s * B @ A
        Wt = W + D
        sv = np.linalg.svd(D, compute_uv=False)
        ref = {"rotation": 0.5 * float(np.sum((Wt / np.linalg.norm(Wt) - W / np.linalg.norm(W)) ** 2)),
               "norm_ref": np.linalg.norm(W), "norm": np.linalg.norm(Wt), "rel_delta": np.linalg.norm(D) / np.linalg.norm(W),
               "std_ref": W.std(), "std": Wt.std(), "kurtosis_excess_ref": kurt(W), "kurtosis_excess": kurt(Wt),
               "delta_sv_max": sv[0], "delta_frobenius": np.linalg.norm(D)}
        row = rows[target]
        for k, v in ref.items():
            res["max_rel_err"][k] = max(res["max_rel_err"].get(k, 0.0), abs(row[k] - float(v)) / abs(float(v)))
        # numpy's floor rank of the float64 product, and the 1% rank
        if row["delta_matrix_rank"] != A.shape[0] or row["delta_rank_0.01"] != int((sv > 0.01 * sv[0]).sum()):
            res["rank_bad"].append([target, row["delta_matrix_rank"], row["delta_rank_0.01"], A.shape[0]])
        res["adapted"] += 1
    for name, row in rows.items():
        if name in adapted:
            continue
        res["unchanged"] += 1
        if row["rotation"] != 0 or row["rel_delta"] != 0 or row.get("delta_sv_max", 0) != 0:
            res["unchanged_bad"].append(name)
    print(json.dumps(res))
else:
    ours = {"lora_factors": json.load(open(sys.argv[4])), "lora_with_base": json.load(open(sys.argv[5]))}
    if len(sys.argv) > 6:  # the randomized with-base route's top-k: compared with numpy's leading values
        ours["lora_with_base_top"] = json.load(open(sys.argv[6]))
    pm = PeftModel.from_pretrained(BertModel.from_pretrained(base_dir, add_pooling_layer=False), adapter)
    res = {k: {"modules": 0, "max_rel_err": 0.0, "missing": []} for k in ours}
    for name, mod in pm.named_modules():
        if not hasattr(mod, "lora_A") or "default" not in mod.lora_A:
            continue
        target = name[len("base_model.model."):] + ".weight"
        s = mod.scaling["default"]
        B = mod.lora_B["default"].weight.detach().double().numpy()
        A = mod.lora_A["default"].weight.detach().double().numpy()
        Wb = mod.base_layer.weight.detach().double().numpy()
        r = A.shape[0]
        refs = {"lora_factors": np.linalg.svd(s * B @ A, compute_uv=False)[:r],
                "lora_with_base": np.linalg.svd(Wb + s * B @ A, compute_uv=False)}
        if "lora_with_base_top" in ours:
            got = ours["lora_with_base_top"].get(target)
            refs["lora_with_base_top"] = refs["lora_with_base"][:len(got) if got else 0]
        for route, ref in refs.items():
            got = ours[route].get(target)
            if got is None or len(got) != len(ref):
                res[route]["missing"].append(target)
                continue
            res[route]["modules"] += 1
            res[route]["max_rel_err"] = max(res[route]["max_rel_err"], float(np.abs(np.array(got) - ref).max() / ref[0]))
            rel = np.abs(np.array(got) - ref) / ref
            res[route]["max_rel_err_leading"] = max(res[route].get("max_rel_err_leading", 0.0), float(rel[0]))
            res[route]["max_rel_err_each"] = max(res[route].get("max_rel_err_each", 0.0), float(rel.max()))
            res[route]["max_excess"] = max(res[route].get("max_excess", -1.0), float(((np.array(got) - ref) / ref).max()))
    res["rank_pattern_r"] = pm.peft_config["default"].rank_pattern
    print(json.dumps(res))
