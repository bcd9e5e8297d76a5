"""PEFT's own PiSSA init on a checkpoint, timed: what a user runs today (inside one process, torch CPU).

usage: peft_pissa.py MODEL_DIR METHOD(pissa|pissa_niter_4) R
Prints {"seconds", "modules", "max_rel_err"} where max_rel_err is max over modules of
max|W_res + s·B·A − W| / max|W| (the reconstruction both tools must hit).
"""
import sys, time, json
import torch
from transformers import AutoModelForCausalLM
from peft import LoraConfig, get_peft_model

path, method, r = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
orig = {n: p.detach().clone() for n, p in model.named_parameters()}
t0 = time.time()
pm = get_peft_model(model, LoraConfig(r=r, lora_alpha=r, target_modules="all-linear", init_lora_weights=method))
secs = time.time() - t0
worst, n = 0.0, 0
for name, mod in pm.named_modules():
    if hasattr(mod, "lora_A") and "default" in getattr(mod, "lora_A", {}):
        key = name[len("base_model.model."):] + ".weight"
        w = mod.base_layer.weight.double() + mod.scaling["default"] * (mod.lora_B["default"].weight.double() @ mod.lora_A["default"].weight.double())
        worst = max(worst, float((w - orig[key].double()).abs().max() / orig[key].double().abs().max()))
        n += 1
print(json.dumps({"seconds": secs, "modules": n, "max_rel_err": worst, "torch_threads": torch.get_num_threads()}))
