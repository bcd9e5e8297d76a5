"""LoRA clients for the fedavg LoRA tests (real PEFT adapters on a small Llama) and numpy's answer for a round.

usage: fed_lora_check.py make BASE_DIR OUT_DIR K [--ranks 8,8,8]
         PEFT adapters (all-linear of q_proj,v_proj) with seeded random A, B per client, saved by PEFT's own
         save_pretrained into OUT_DIR/<id>/, plus OUT_DIR/manifest.json (examples 100, 200, ...)
       fed_lora_check.py check BASE_DIR OUT_DIR RESULT_DIR METHOD
         prints JSON per method: fedit/ffa -> max_abs_diff of A, B vs numpy's averages; stack -> max_rel_err of
         s'·B'A' vs Σ p_k s_k B_k A_k; svd -> max over modules of |error / optimal error − 1|; lora-fair ->
         max over modules of residual/fedit_residual (must be <= 1); always report_residual_diff (the report's
         relative_residual against numpy's ‖ΔW − s·BA‖/‖ΔW‖) and peft_merge_rel_err (PEFT merges it onto the base).
"""
import sys, json, os
import numpy as np
import torch
from safetensors.numpy import load_file

def client_adapters(out):
    m = json.load(open(os.path.join(out, "manifest.json")))
    res = []
    for c in m["clients"]:
        cfg = json.load(open(os.path.join(c["uri"], "adapter_config.json")))
        res.append((c, cfg, load_file(os.path.join(c["uri"], "adapter_model.safetensors"))))
    return res

def scaling(cfg, r):
    return cfg["lora_alpha"] / (np.sqrt(r) if cfg.get("use_rslora") else r)

if sys.argv[1] == "make":
    from transformers import LlamaForCausalLM
    from peft import LoraConfig, get_peft_model
    base, out, k = sys.argv[2], sys.argv[3], int(sys.argv[4])
    ranks = [int(x) for x in sys.argv[sys.argv.index("--ranks") + 1].split(",")] if "--ranks" in sys.argv else [8] * k
    clients = []
    for i in range(k):
        model = LlamaForCausalLM.from_pretrained(base)
        pm = get_peft_model(model, LoraConfig(r=ranks[i], lora_alpha=16, target_modules=["q_proj", "v_proj"]))
        g = torch.Generator().manual_seed(10 + i)
        with torch.no_grad():
            for n, p in pm.named_parameters():
                if "lora_" in n:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.05)
        d = os.path.join(out, f"c{i}")
        pm.save_pretrained(d)
        json.dump({"examples": 100 * (i + 1)}, open(os.path.join(d, "client.json"), "w"))
        clients.append({"id": f"c{i}", "uri": d, "examples": 100 * (i + 1)})
    json.dump({"round": 1, "clients": clients}, open(os.path.join(out, "manifest.json"), "w"), indent=1)
    print(json.dumps({"clients": k}))
    sys.exit(0)

if sys.argv[1] == "merged":
    from transformers import LlamaForCausalLM
    from peft import PeftModel
    base, result = sys.argv[2], sys.argv[3]
    want = PeftModel.from_pretrained(LlamaForCausalLM.from_pretrained(base), os.path.join(result, "adapter")).merge_and_unload().state_dict()
    got = LlamaForCausalLM.from_pretrained(os.path.join(result, "merged")).state_dict()
    print(json.dumps({"merged_vs_peft_rel": max(float((got[k].double() - v.double()).abs().max() / max(v.double().abs().max(), 1e-30)) for k, v in want.items())}))
    sys.exit(0)

base, out, result, method = sys.argv[2:6]
cl = client_adapters(out)
ex = np.array([c["examples"] for c, _, _ in cl], dtype=np.float64)
p = ex / ex.sum()
rcfg = json.load(open(os.path.join(result, "adapter", "adapter_config.json")))
rad = {k: v.astype(np.float64) for k, v in load_file(os.path.join(result, "adapter", "adapter_model.safetensors")).items()}
mods = sorted(k[:-len(".lora_A.weight")] for k in cl[0][2] if k.endswith(".lora_A.weight"))
res = {"modules": len(mods)}
worst = 0.0
report = {r["module"]: r for r in json.load(open(os.path.join(result, "round_report.json")))["modules"]}
res["report_residual_diff"] = 0.0
for m in mods:
    As = [a[m + ".lora_A.weight"].astype(np.float64) for _, _, a in cl]
    Bs = [a[m + ".lora_B.weight"].astype(np.float64) for _, _, a in cl]
    ss = [scaling(cfg, A.shape[0]) for (_, cfg, _), A in zip(cl, As)]
    exact = sum(pk * s * B @ A for pk, s, A, B in zip(p, ss, As, Bs))
    A, B = rad[m + ".lora_A.weight"], rad[m + ".lora_B.weight"]
    short = m[len("base_model.model."):]
    r = A.shape[0]
    alpha = rcfg["alpha_pattern"].get(short, rcfg["lora_alpha"]) if rcfg.get("alpha_pattern") else rcfg["lora_alpha"]
    s_out = alpha / (np.sqrt(r) if rcfg.get("use_rslora") else r)
    got = s_out * B @ A
    rel = np.linalg.norm(exact - got) / np.linalg.norm(exact)
    res["report_residual_diff"] = max(res["report_residual_diff"], abs(report[m]["relative_residual"] - rel))
    if method in ("fedit", "ffa", "lora-fair"):
        abar = sum(pk * a for pk, a in zip(p, As)); bbar = sum(pk * b for pk, b in zip(p, Bs))
    if method in ("fedit", "ffa"):
        worst = max(worst, float(np.abs(A - abar).max()), float(np.abs(B - bbar).max()))
    elif method == "stack":
        worst = max(worst, float(np.abs(got - exact).max() / np.abs(exact).max()))
    elif method == "svd":
        sv = np.linalg.svd(exact, compute_uv=False)
        opt = np.sqrt(np.sum(sv[r:] ** 2))
        worst = max(worst, abs(np.linalg.norm(exact - got) / opt - 1))
    elif method == "lora-fair":
        fedit = ss[0] * bbar @ abar
        worst = max(worst, float(np.linalg.norm(exact - got) / np.linalg.norm(exact - fedit)))
res["value"] = worst
from transformers import LlamaForCausalLM
from peft import PeftModel
pm = PeftModel.from_pretrained(LlamaForCausalLM.from_pretrained(base), os.path.join(result, "adapter"))
merged = pm.merge_and_unload().state_dict()
b0 = LlamaForCausalLM.from_pretrained(base).state_dict()
m0 = mods[0][len("base_model.model."):]
A, B = rad[mods[0] + ".lora_A.weight"], rad[mods[0] + ".lora_B.weight"]
r = A.shape[0]
alpha = rcfg["alpha_pattern"].get(m0, rcfg["lora_alpha"]) if rcfg.get("alpha_pattern") else rcfg["lora_alpha"]
delta = merged[m0 + ".weight"].double().numpy() - b0[m0 + ".weight"].double().numpy()
want = (alpha / r) * B @ A
res["peft_merge_rel_err"] = float(np.abs(delta - want).max() / np.abs(want).max())
print(json.dumps(res))
