"""A checkpoint for the spectrum job's Gram route: one well-conditioned matrix and one ill-conditioned one.
  gram_route_checkpoint.py OUTFILE
Writes OUTFILE (safetensors, F64) and prints JSON {name: numpy gesdd singular values}."""
import json, sys
import numpy as np
from safetensors.numpy import save_file

rng = np.random.default_rng(7)


def planted(rows, cols, s):
    u, _ = np.linalg.qr(rng.standard_normal((rows, len(s))))
    v, _ = np.linalg.qr(rng.standard_normal((cols, len(s))))
    return (u * s) @ v.T


tensors = {
    # Gaussian: sigma_1/sigma_min about 5, the Gram route is certified
    "model.layers.0.self_attn.q_proj.weight": rng.standard_normal((96, 64)),
    # planted sigma_1/sigma_min = 1e6: eps * 1e12 = 2e-4 is over 1e-8, dgesdd takes over (wide, 64 x 160)
    "model.layers.0.mlp.down_proj.weight": planted(64, 160, np.logspace(0, -6, 64)),
}
save_file({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in tensors.items()}, sys.argv[1], metadata={"format": "pt"})
print(json.dumps({k: np.linalg.svd(v, compute_uv=False).tolist() for k, v in tensors.items()}))
