"""PEFT adapters of one small Llama and PEFT's own add_weighted_adapter as the reference for `merge --adapters`.

usage: adapter_merge_check.py make BASE_DIR OUT_DIR
         four adapters saved by PEFT's save_pretrained with seeded random A, B (0.05 N(0,1)):
         a0 r=8 alpha=16 q_proj,v_proj; a1 r=8 alpha=32 q_proj,v_proj; a2 r=8 alpha=8 q_proj,k_proj (k_proj only here);
         a3 r=4 alpha=4 q_proj,v_proj (another rank, for cat and svd)
       adapter_merge_check.py check BASE_DIR ADAPTERS_DIR CASES.json
         CASES: [{"result": DIR, "adapters": [...names], "weights": [...], "combination_type": ..., optional "density",
         "majority_sign_method", "svd_rank", "svd_clamp", "masks_from": DIR}]. For each case PEFT's add_weighted_adapter
         builds the merged adapter on the base; our DIR is loaded by PeftModel.from_pretrained; prints per case the
         largest relative difference of get_delta_weight over all modules (max|ours - PEFT| / max|PEFT|), the report's
         residuals against numpy's ‖Σ w·s·B·A − s'·B'A'‖/‖Σ w·s·B·A‖, and the modules' names. With masks_from (a
         dare_linear result of the same adapters and seed), torch.bernoulli returns the keep masks recovered from that
         result's A and B factors, so PEFT's DARE draws our masks.
       adapter_merge_check.py dare DARE_LINEAR_DIR ADAPTERS_DIR WEIGHTS DENSITY
         each element of the merged A and B factors is one of the 4 subset sums of the 2 adapters' weighted values over
         density; prints the worst mismatch and the kept counts per adapter and element total.
       adapter_merge_check.py merged BASE_DIR RESULT_DIR
         merged/ against PEFT's merge_and_unload of RESULT_DIR's adapter onto the base.
"""
import sys, json, os, math
import numpy as np
import torch
from safetensors.numpy import load_file

SPECS = {"a0": (8, 16, ["q_proj", "v_proj"]), "a1": (8, 32, ["q_proj", "v_proj"]),
         "a2": (8, 8, ["q_proj", "k_proj"]), "a3": (4, 4, ["q_proj", "v_proj"])}


def llama(base):
    from transformers import LlamaForCausalLM
    return LlamaForCausalLM.from_pretrained(base, torch_dtype=torch.float32)


def factors(d):
    cfg = json.load(open(os.path.join(d, "adapter_config.json")))
    w = {k: v.astype(np.float64) for k, v in load_file(os.path.join(d, "adapter_model.safetensors")).items()}
    return cfg, w


def recover_masks(dare_dir, adapters_dir, names, weights, density):
    """Per (module, factor): which adapters' values each element of our dare_linear result kept."""
    _, ours = factors(dare_dir)
    ins = [factors(os.path.join(adapters_dir, n)) for n in names]
    masks, worst = {}, 0.0
    for key in sorted(ours):
        if key not in ins[0][1] or key not in ins[1][1]:
            continue
        side = "A" if ".lora_A." in key else "B"
        vals, ws = [], []
        for (cfg, w), wt in zip(ins, weights):
            s = cfg["lora_alpha"] / cfg["r"] * wt
            ws.append((math.sqrt(abs(s)) * (1 if s >= 0 else -1)) if side == "A" else math.sqrt(abs(s)))
            vals.append(w[key])
        cand = np.stack([np.zeros_like(vals[0]), ws[0] * vals[0] / density, ws[1] * vals[1] / density,
                         (ws[0] * vals[0] + ws[1] * vals[1]) / density])
        dist = np.abs(cand - ours[key][None])
        pick = dist.argmin(axis=0)
        scale = np.abs(cand).max()
        worst = max(worst, float(np.take_along_axis(dist, pick[None], 0).max() / scale))
        masks[key] = (pick % 2 == 1, pick >= 2)
    return masks, worst


if sys.argv[1] == "make":
    from peft import LoraConfig, get_peft_model
    base, out = sys.argv[2], sys.argv[3]
    for i, (name, (r, alpha, targets)) in enumerate(SPECS.items()):
        pm = get_peft_model(llama(base), LoraConfig(r=r, lora_alpha=alpha, target_modules=targets))
        g = torch.Generator().manual_seed(100 + i)
        with torch.no_grad():
            for n, p in pm.named_parameters():
                if "lora_" in n:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.05)
        pm.save_pretrained(os.path.join(out, name))
    print(json.dumps({"adapters": list(SPECS)}))
    sys.exit(0)

if sys.argv[1] == "dare":
    d, adir, weights, density = sys.argv[2], sys.argv[3], [float(x) for x in sys.argv[4].split(",")], float(sys.argv[5])
    masks, worst = recover_masks(d, adir, ["a0", "a1"], weights, density)
    kept = [sum(int(m[i].sum()) for m in masks.values()) for i in range(2)]
    total = sum(int(m[0].size) for m in masks.values())
    print(json.dumps({"worst": worst, "kept": kept, "elements": total}))
    sys.exit(0)

if sys.argv[1] == "merged":
    from peft import PeftModel
    base, result = sys.argv[2], sys.argv[3]
    want = PeftModel.from_pretrained(llama(base), result).merge_and_unload().state_dict()
    got = llama(os.path.join(result, "merged")).state_dict()
    print(json.dumps({"merged_vs_peft_rel": max(float((got[k].double() - v.double()).abs().max() / max(v.double().abs().max(), 1e-30))
                                                for k, v in want.items())}))
    sys.exit(0)

from peft import PeftModel
from peft.tuners.lora import LoraLayer
base, adir, cases = sys.argv[2], sys.argv[3], json.load(open(sys.argv[4]))
results = []
real_bernoulli = torch.bernoulli
for c in cases:
    names = c["adapters"]
    pm = PeftModel.from_pretrained(llama(base), os.path.join(adir, names[0]), adapter_name=names[0])
    for n in names[1:]:
        pm.load_adapter(os.path.join(adir, n), adapter_name=n)
    if "masks_from" in c:
        masks, _ = recover_masks(c["masks_from"], adir, names, c["weights"], c["density"])
        # PEFT prunes the A factors of adapter 0, 1, then the B factors, module by module in named_modules order
        order = []
        for mod_name, mod in pm.base_model.model.named_modules():
            if isinstance(mod, LoraLayer) and all(n in mod.lora_A for n in names):
                k = "base_model.model." + mod_name
                order += [masks[k + ".lora_A.weight"][0], masks[k + ".lora_A.weight"][1], masks[k + ".lora_B.weight"][0], masks[k + ".lora_B.weight"][1]]
        it = iter(order)
        torch.bernoulli = lambda t, *a, **kw: torch.from_numpy(next(it).astype(np.float32)).reshape(t.shape)
    kwargs = {k: c[k] for k in ("density", "majority_sign_method", "svd_rank", "svd_clamp") if k in c}
    pm.add_weighted_adapter(names, c["weights"], "merged", combination_type=c["combination_type"], **kwargs)
    torch.bernoulli = real_bernoulli
    want = {}
    for mod_name, mod in pm.base_model.model.named_modules():
        if isinstance(mod, LoraLayer) and "merged" in mod.lora_A:
            want[mod_name] = mod.get_delta_weight("merged").double()
            if "svd_clamp" in c:
                # the clamp depends on each singular pair's sign, which LAPACK leaves arbitrary: PEFT's steps in float64
                # with our convention (each row of Vh has its largest-magnitude entry positive)
                d = sum(w * mod.get_delta_weight(n).double() for n, w in zip(names, c["weights"]) if n in mod.lora_A)
                U, S, Vh = torch.linalg.svd(d, full_matrices=False)
                r = c["svd_rank"]
                U, S, Vh = U[:, :r], S[:r], Vh[:r]
                sign = torch.sign(Vh.gather(1, Vh.abs().argmax(dim=1, keepdim=True)))
                U, Vh = U * sign.T, Vh * sign
                U = U @ torch.diag(S)
                hi = torch.quantile(torch.cat([U.flatten(), Vh.flatten()]), c["svd_clamp"])
                want[mod_name] = U.clamp(-hi, hi) @ Vh.clamp(-hi, hi)
    ours = PeftModel.from_pretrained(llama(base), c["result"], adapter_name="ours")
    got = {}
    for mod_name, mod in ours.base_model.model.named_modules():
        if isinstance(mod, LoraLayer) and "ours" in mod.lora_A:
            got[mod_name] = mod.get_delta_weight("ours").double()
    rel = max(float((got[k] - v).abs().max() / v.abs().max()) for k, v in want.items()) if set(got) == set(want) else float("inf")
    # the report's residual against numpy's Σ w·s·B·A (the scaling of each input from its config)
    report = {m["module"]: m for m in json.load(open(os.path.join(c["result"], "merge_report.json")))["modules"]}
    ins = [factors(os.path.join(adir, n)) for n in names]
    rcfg, rw = factors(c["result"])
    s_out = rcfg["lora_alpha"] / (math.sqrt(rcfg["r"]) if rcfg.get("use_rslora") else rcfg["r"])
    resid = 0.0
    for m, row in report.items():
        exact = sum(wt * cfg["lora_alpha"] / cfg["r"] * w[m + ".lora_B.weight"] @ w[m + ".lora_A.weight"]
                    for (cfg, w), wt in zip(ins, c["weights"]) if m + ".lora_A.weight" in w)
        merged = s_out * rw[m + ".lora_B.weight"] @ rw[m + ".lora_A.weight"]
        resid = max(resid, abs(np.linalg.norm(exact - merged) / np.linalg.norm(exact) - row["relative_residual"]))
    results.append({"result": c["result"], "rel": rel, "modules": sorted(want), "ours_modules": sorted(got), "report_residual_diff": resid,
                    "r": rcfg["r"]})
print(json.dumps(results))
