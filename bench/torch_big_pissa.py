"""PEFT's PiSSA factor step on one matrix, timed (the body of peft's pissa_init: full fp32 torch.linalg.svd, or
torch.svd_lowrank(q=r, niter=4)), on a Gaussian(0, 0.02) float32 matrix.  usage: torch_big_pissa.py ROWS COLS R [niter-only]"""
import sys, time, json
import torch
m, n, r = map(int, sys.argv[1:4])
w = (torch.randn(m, n, generator=torch.Generator().manual_seed(7)) * 0.02).float()
res = {"rows": m, "cols": n, "r": r, "torch_threads": torch.get_num_threads()}
niter_only = len(sys.argv) > 4 and sys.argv[4] == "niter-only"
if not niter_only:
    t0 = time.time()
    V, S, Uh = torch.linalg.svd(w, full_matrices=False)
    Vr, Sr, Uhr = V[:, :r], S[:r], Uh[:r]
    res["pissa_s"] = time.time() - t0
runs = []
for _ in range(3):  # median of three, as ours
    t0 = time.time()
    Vr, Sr, Ur = torch.svd_lowrank(w.data, q=r, niter=4)
    runs.append(time.time() - t0)
res["pissa_niter_4_s"] = sorted(runs)[1]
res["pissa_niter_4_runs"] = " ".join(f"{x:.3f}" for x in runs)
print(json.dumps(res))
