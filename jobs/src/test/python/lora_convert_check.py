"""PEFT's side of the lora-convert test (docs/algorithms.md §4, conversion to a plain LoRA on the original base).

usage: lora_convert_check.py train BASE INIT_OUT TRAINED_DIR PEFT_CONVERTED_DIR
         loads INIT_OUT/adapter onto INIT_OUT/residual with PEFT, "trains" it (a seeded perturbation of every A and B),
         saves the trained adapter (TRAINED_DIR) and PEFT's own conversion (PEFT_CONVERTED_DIR, via
         save_pretrained(path_initial_model_for_weight_conversion=<a copy of the initial adapter>))
       lora_convert_check.py check BASE INIT_OUT TRAINED_DIR PEFT_CONVERTED_DIR OURS_DIR
         prints JSON: tensors_max_abs_diff (ours vs PEFT's conversion), same_keys, config_diff (r, lora_alpha, patterns),
         reproduce_rel_err (original base + our converted LoRA, merged, vs residual + trained adapter, merged)
"""
import sys, json, shutil, os
import numpy as np
import torch
from transformers import LlamaForCausalLM
from peft import PeftModel
from safetensors.numpy import load_file

mode, base, init_out, trained, peft_conv = sys.argv[1:6]
if mode == "train":
    model = LlamaForCausalLM.from_pretrained(init_out + "/residual")
    pm = PeftModel.from_pretrained(model, init_out + "/adapter", is_trainable=True)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if "lora_" in n:
                p.add_(0.1 * p.abs().mean() * torch.randn(p.shape, generator=g))
    pm.save_pretrained(trained)
    init_copy = peft_conv + "-initial"
    shutil.copytree(init_out + "/adapter", init_copy)
    pm.save_pretrained(peft_conv, path_initial_model_for_weight_conversion=init_copy)
    print(json.dumps({"ok": True}))
else:
    ours_dir = sys.argv[6]
    ours, theirs = load_file(ours_dir + "/adapter_model.safetensors"), load_file(peft_conv + "/adapter_model.safetensors")
    res = {"same_keys": sorted(ours) == sorted(theirs)}
    res["tensors_max_abs_diff"] = max(float(np.abs(ours[k].astype(np.float64) - theirs[k].astype(np.float64)).max()) for k in theirs)
    co, ct = json.load(open(ours_dir + "/adapter_config.json")), json.load(open(peft_conv + "/adapter_config.json"))
    res["config_diff"] = [k for k in ("r", "lora_alpha", "rank_pattern", "alpha_pattern", "use_rslora", "init_lora_weights") if co.get(k) != ct.get(k)]
    res["base_model_name_or_path"] = co.get("base_model_name_or_path")
    want = PeftModel.from_pretrained(LlamaForCausalLM.from_pretrained(init_out + "/residual"), trained).merge_and_unload().state_dict()
    got = PeftModel.from_pretrained(LlamaForCausalLM.from_pretrained(base), ours_dir).merge_and_unload().state_dict()
    res["reproduce_rel_err"] = max(float((got[k].double() - v.double()).abs().max() / max(v.double().abs().max(), 1e-30)) for k, v in want.items())
    print(json.dumps(res))
