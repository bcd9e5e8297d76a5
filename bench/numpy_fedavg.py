"""What a user does today without WeightLab: FedAvg of K safetensors clients with numpy, timed, peak memory reported.

usage: numpy_fedavg.py MANIFEST OUT.safetensors MODE
  MODE inmemory:  Flower's aggregate() (strategy/aggregate.py): every client's arrays in memory, each layer
                  multiplied by its example count, reduce(np.add) / total
  MODE streaming: one client at a time, accumulated into a float64 sum (memory: the sum plus one client)
  MODE torch:     the in-memory torch FedAvg of Flower/NVFlare PyTorch examples: every client's state_dict loaded
                  (safetensors.torch), each parameter sum_k (n_k/total) * w_k in float32, cast back
Prints {"seconds", "peak_rss_mb", "clients", "bytes_read"}.
"""
import sys, json, time, os, resource
from functools import reduce
import numpy as np
from safetensors.numpy import load_file, save_file

man, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
m = json.load(open(man))
t0 = time.time()
files = [os.path.join(c["uri"], "model.safetensors") for c in m["clients"]]
ex = [c["examples"] for c in m["clients"]]
total = sum(ex)
nbytes = sum(os.path.getsize(f) for f in files)
if mode == "inmemory":
    results = [(load_file(f), n) for f, n in zip(files, ex)]
    names = list(results[0][0].keys())
    weighted = [[results[k][0][nm] * n for nm in names] for k, (_, n) in enumerate(results)]
    agg = [reduce(np.add, layer) / total for layer in zip(*weighted)]
    result = {nm: np.ascontiguousarray(a.astype(results[0][0][nm].dtype)) for nm, a in zip(names, agg)}
elif mode == "torch":
    import torch
    from safetensors.torch import load_file as tload, save_file as tsave
    sds = [tload(f) for f in files]
    tresult = {}
    with torch.no_grad():
        for nm, ref in sds[0].items():
            acc = torch.zeros(ref.shape, dtype=torch.float32)
            for sd, n in zip(sds, ex):
                acc.add_(sd[nm].float(), alpha=n / total)
            tresult[nm] = acc.to(ref.dtype).contiguous()
    tsave(tresult, out, metadata={"format": "pt"})
    result = None
else:
    acc = None
    for f, n in zip(files, ex):
        x = load_file(f)
        if acc is None:
            acc = {k: v.astype(np.float64) * (n / total) for k, v in x.items()}
            dtypes = {k: v.dtype for k, v in x.items()}
        else:
            for k, v in x.items():
                acc[k] += v.astype(np.float64) * (n / total)
        del x
    result = {k: np.ascontiguousarray(v.astype(dtypes[k])) for k, v in acc.items()}
if result is not None:
    save_file(result, out, metadata={"format": "pt"})
secs = time.time() - t0
print(json.dumps({"mode": mode, "seconds": secs, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "clients": len(files), "bytes_read": nbytes}))
