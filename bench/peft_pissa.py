"""PEFT's own PiSSA init on a checkpoint, timed: what a user runs today (inside one process, torch CPU).

usage: peft_pissa.py MODEL_DIR METHOD(pissa|pissa_niter_4) R [SAVE_DIR]
Prints {"seconds", "seconds_end_to_end", "modules", "max_rel_err"}: seconds is get_peft_model(...) alone;
seconds_end_to_end also loads the model and, as PEFT's examples/pissa_finetuning/preprocess.py does, saves the
adapter and the residual model (to SAVE_DIR). max_rel_err is max over modules of max|W_res + s·B·A − W| / max|W|.
"""
import sys, time, json, os
t_start = time.time()
import torch
from transformers import AutoModelForCausalLM
from peft import LoraConfig, get_peft_model

path, method, r = sys.argv[1], sys.argv[2], int(sys.argv[3])
save = sys.argv[4] if len(sys.argv) > 4 else None
model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
t_loaded = time.time()
orig = {n: p.detach().clone() for n, p in model.named_parameters()}
t_copy = time.time() - t_loaded
t0 = time.time()
pm = get_peft_model(model, LoraConfig(r=r, lora_alpha=r, target_modules="all-linear", init_lora_weights=method))
secs = time.time() - t0
worst, n = 0.0, 0
t_check = time.time()
for name, mod in pm.named_modules():
    if hasattr(mod, "lora_A") and "default" in getattr(mod, "lora_A", {}):
        key = name[len("base_model.model."):] + ".weight"
        w = mod.base_layer.weight.double() + mod.scaling["default"] * (mod.lora_B["default"].weight.double() @ mod.lora_A["default"].weight.double())
        worst = max(worst, float((w - orig[key].double()).abs().max() / orig[key].double().abs().max()))
        n += 1
t_check = time.time() - t_check
t_save = 0.0
if save:
    t1 = time.time()
    pm.peft_config["default"].init_lora_weights = True
    pm.save_pretrained(os.path.join(save, "pissa_init"))
    pm.unload().save_pretrained(save)
    t_save = time.time() - t1
end_to_end = time.time() - t_start - t_copy - t_check  # the oracle's copy and check are ours, not the user's
print(json.dumps({"seconds": secs, "seconds_end_to_end": end_to_end, "seconds_save": t_save, "modules": n, "max_rel_err": worst,
                  "torch_threads": torch.get_num_threads()}))
