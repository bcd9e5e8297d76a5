"""A synthetic training series for the fleet tests: checkpoint-<step>/model.safetensors for the given steps.
Layer l's weights at step s are its initial weights times (1 + DRIFT[l] * s / 1000), so each layer's std drifts by a
known factor; q_proj is float32 (fitted on all values), down_proj float16 (exact histogram), norms float32. Step 1700 holds one
NaN (layer 1's down_proj[0, 0]), for the "which checkpoints hold NaN" query.
Usage: fleet_series.py DIR STEP... """
import os, sys
import numpy as np
from safetensors.numpy import save_file

DRIFT = [0.0, 0.1, 0.2, 0.4]

def main():
    root, steps = sys.argv[1], [int(s) for s in sys.argv[2:]]
    rng = np.random.default_rng(7)
    init = {}
    for l in range(len(DRIFT)):
        init[f"model.layers.{l}.self_attn.q_proj.weight"] = rng.standard_normal((32, 32)) * 0.02
        init[f"model.layers.{l}.mlp.down_proj.weight"] = rng.laplace(size=(32, 64)) * 0.02
        init[f"model.layers.{l}.input_layernorm.weight"] = 1.0 + rng.standard_normal(32) * 0.01
    init["model.embed_tokens.weight"] = rng.standard_normal((50, 32)) * 0.02
    for s in steps:
        out = {}
        for name, w in init.items():
            l = int(name.split(".")[2]) if ".layers." in name else None
            f = 1.0 + (DRIFT[l] * s / 1000.0 if l is not None else 0.0)
            dt = np.float16 if "down_proj" in name else np.float32
            out[name] = (w * f).astype(dt)
        if s == 1700:
            out["model.layers.1.mlp.down_proj.weight"][0, 0] = np.nan
        d = os.path.join(root, f"checkpoint-{s}")
        os.makedirs(d, exist_ok=True)
        save_file(out, os.path.join(d, "model.safetensors"))

main()
