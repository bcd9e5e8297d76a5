"""Reconstruction of a `weightlab lora-init` output: max over modules of max|W_res + s·B·A − W| / max|W| (float64
over the written float32 files), and for the top-r methods max over modules of |‖W_res‖₂ / σ_{r+1}(W) − 1| (numpy).

usage: lora_reconstruction.py BASE_DIR OUT_DIR
"""
import sys, json, glob
import numpy as np
from safetensors.numpy import load_file

base_dir, out = sys.argv[1], sys.argv[2]
load = lambda d: {k: v for f in sorted(glob.glob(d + "/*.safetensors")) for k, v in load_file(f).items()}
base, res, ad = load(base_dir), load(out + "/residual"), load_file(out + "/adapter/adapter_model.safetensors")
cfg = json.load(open(out + "/adapter/adapter_config.json"))
worst, spec = 0.0, 0.0
for k, a in ad.items():
    if not k.endswith("lora_A.weight"):
        continue
    name = k[len("base_model.model."):-len(".lora_A.weight")] + ".weight"
    r = a.shape[0]
    s = cfg["lora_alpha"] / (r ** 0.5 if cfg["use_rslora"] else r)
    w = base[name].astype(np.float64)
    wr = res[name].astype(np.float64)
    b = ad[k.replace("lora_A", "lora_B")].astype(np.float64)
    worst = max(worst, float(np.abs(wr + s * b @ a.astype(np.float64) - w).max() / np.abs(w).max()))
    sv = np.linalg.svd(w, compute_uv=False)
    spec = max(spec, abs(np.linalg.norm(wr, 2) / sv[r] - 1))
print(json.dumps({"max_rel_err": worst, "residual_norm_vs_sigma_r1": spec}))
