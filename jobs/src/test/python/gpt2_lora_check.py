"""GPT-2 (Conv1D weights stored [in, out], PEFT's fan_in_fan_out) through `weightlab lora-init`.

usage: gpt2_lora_check.py make OUT_DIR                   a small random GPT-2 (transformers' layout), float32
       gpt2_lora_check.py check BASE OUT METHOD R ALPHA TARGETS
Prints JSON: merged_rel_err (PEFT loads our adapter onto our residual and merges: vs the base), fan_in_fan_out
(the config's flag), peft_same_rel_diff (PEFT's own METHOD with fan_in_fan_out=True: max over modules of
max|sBA_ours − sBA_peft| / max|sBA_peft|).
"""
import sys, json
import torch
from transformers import GPT2Config, GPT2LMHeadModel

if sys.argv[1] == "make":
    torch.manual_seed(0)
    m = GPT2LMHeadModel(GPT2Config(vocab_size=500, n_positions=64, n_embd=128, n_layer=2, n_head=4))
    with torch.no_grad():
        for n, p in m.named_parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.05)
    m.save_pretrained(sys.argv[2], safe_serialization=True)
    print(json.dumps({"ok": True}))
    sys.exit(0)

from peft import PeftModel, LoraConfig, get_peft_model
from safetensors.torch import load_file
base_dir, out, method, r, alpha, targets = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]), sys.argv[7].split(",")
s = alpha / r
base_sd = {k: v.clone() for k, v in GPT2LMHeadModel.from_pretrained(base_dir).state_dict().items()}
cfg = json.load(open(out + "/adapter/adapter_config.json"))
res = {"fan_in_fan_out": cfg["fan_in_fan_out"]}
merged = PeftModel.from_pretrained(GPT2LMHeadModel.from_pretrained(out + "/residual"), out + "/adapter").merge_and_unload().state_dict()
res["merged_rel_err"] = max(float((merged[k].double() - v.double()).abs().max() / max(v.double().abs().max(), 1e-30)) for k, v in base_sd.items() if k in merged)
ad = load_file(out + "/adapter/adapter_model.safetensors")
pm = get_peft_model(GPT2LMHeadModel.from_pretrained(base_dir), LoraConfig(r=r, lora_alpha=alpha, target_modules=targets, init_lora_weights=method, fan_in_fan_out=True))
worst = 0.0
for name, mod in pm.named_modules():
    if hasattr(mod, "lora_A") and "default" in getattr(mod, "lora_A", {}):
        key = name[len("base_model.model."):]
        ours = s * ad[f"base_model.model.{key}.lora_B.weight"].double() @ ad[f"base_model.model.{key}.lora_A.weight"].double()
        theirs = mod.scaling["default"] * (mod.lora_B["default"].weight.double() @ mod.lora_A["default"].weight.double())
        worst = max(worst, float((ours - theirs).abs().max() / theirs.abs().max()))
res["peft_same_rel_diff"] = worst
print(json.dumps(res))
