"""Planted-rank checkpoints for compare's delta_matrix_rank (issue #20): OUT/{f32,bf16}/{ref,tuned}/model.safetensors.

F32: a 384 x 384 matrix and the same plus a rank-4 update, the sum stored as float32 (so ΔW carries float32 rounding).
BF16: a 64 x 48 matrix and the same plus a rank-3 update, both stored as bfloat16. Prints, per case, numpy's floor rank
on the stored arrays (np.linalg.matrix_rank of the float32 difference; for bfloat16, which numpy lacks, the same rule
with torch.finfo(torch.bfloat16).eps on the float64 difference) and the rank a float64 epsilon would give.
"""
import json, os, sys
import numpy as np
import torch
from safetensors.torch import save_file

NAME = "encoder.layer.0.attention.self.query.weight"


def planted(rng, rows, cols, strengths):
    u = np.linalg.qr(rng.standard_normal((rows, len(strengths))))[0]
    v = np.linalg.qr(rng.standard_normal((cols, len(strengths))))[0]
    return u @ np.diag(strengths) @ v.T


def main(out):
    rng = np.random.default_rng(4)
    res = {}
    w = (0.05 * rng.standard_normal((384, 384))).astype(np.float32)
    t = (w.astype(np.float64) + planted(rng, 384, 384, [4.0, 3.0, 2.0, 1.0])).astype(np.float32)
    cases = {"f32": (torch.from_numpy(w), torch.from_numpy(t), 4)}
    wb = torch.from_numpy(0.05 * rng.standard_normal((64, 48))).to(torch.bfloat16)
    tb = (wb.double() + torch.from_numpy(planted(rng, 64, 48, [4.0, 3.5, 3.0]))).to(torch.bfloat16)
    cases["bf16"] = (wb, tb, 3)
    for name, (a, b, k) in cases.items():
        for side, x in (("ref", a), ("tuned", b)):
            os.makedirs(os.path.join(out, name, side), exist_ok=True)
            save_file({NAME: x.contiguous()}, os.path.join(out, name, side, "model.safetensors"), metadata={"format": "pt"})
        d64 = b.double().numpy() - a.double().numpy()
        s = np.linalg.svd(d64, compute_uv=False)
        if a.dtype == torch.float32:
            stored = int(np.linalg.matrix_rank(b.numpy() - a.numpy()))  # numpy on the stored float32 arrays
        else:
            stored = int(np.sum(s > s[0] * max(d64.shape) * torch.finfo(torch.bfloat16).eps))
        res[name] = {"planted": k, "numpy_stored": stored, "double_eps": int(np.linalg.matrix_rank(d64)),
                     "eps": float(torch.finfo(a.dtype).eps)}
    print(json.dumps(res))


if __name__ == "__main__":
    main(sys.argv[1])
