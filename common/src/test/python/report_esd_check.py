# Independent reference for the report's ESD histogram: numpy's histogram of log10(sigma^2) and the tail count.
import json, sys
import numpy as np

d = json.load(open(sys.argv[1]))
sv = np.array(d["sv"], dtype=np.float64)
ev = sv * sv
u = np.log10(ev[ev > 0])
counts, edges = np.histogram(u, bins=d["bins"], range=(u.min(), u.max()))
print(json.dumps({"counts": counts.tolist(), "lo": float(edges[0]), "width": float(edges[1] - edges[0]),
                  "tail": int((ev >= d["xmin"]).sum()), "zeros": int((ev <= 0).sum())}))
