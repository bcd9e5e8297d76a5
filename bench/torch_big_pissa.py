"""PEFT's PiSSA factor step on one matrix, timed (the body of peft's pissa_init: full fp32 torch.linalg.svd, or
torch.svd_lowrank(q=r, niter=4)), on a Gaussian(0, 0.02) float32 matrix.  usage: torch_big_pissa.py ROWS COLS R"""
import sys, time, json
import torch
m, n, r = map(int, sys.argv[1:4])
w = (torch.randn(m, n, generator=torch.Generator().manual_seed(7)) * 0.02).float()
res = {"rows": m, "cols": n, "r": r, "torch_threads": torch.get_num_threads()}
t0 = time.time()
V, S, Uh = torch.linalg.svd(w, full_matrices=False)
Vr, Sr, Uhr = V[:, :r], S[:r], Uh[:r]
res["pissa_s"] = time.time() - t0
t0 = time.time()
Vr, Sr, Ur = torch.svd_lowrank(w.data, q=r, niter=4)
res["pissa_niter_4_s"] = time.time() - t0
print(json.dumps(res))
