"""Independent oracle for dequantized statistics: reads the quantized fixture with the reference safetensors
library and numpy, dequantizes every weight that has a _scale companion as (q - zero_point) * scale with the
scale per tensor (0-d) or per output row ([out] for a [out, in] weight), and prints
{name: {count, mean, std, min, max, l2_norm, kurtosis_excess}} as JSON (population forms, float64)."""
import json, sys
import numpy as np
from safetensors.numpy import load_file

t = load_file(sys.argv[1])
out = {}
for name, q in t.items():
    if name + "_scale" not in t:
        continue
    scale = t[name + "_scale"].astype(np.float64)
    zp = t.get(name + "_zero_point")
    zp = np.zeros_like(scale) if zp is None else zp.astype(np.float64)
    x = q.astype(np.float64)
    if scale.ndim == 0:
        w = (x - zp) * scale
    else:
        w = (x - zp[:, None]) * scale[:, None]
    m = w.mean()
    c = w - m
    m2 = (c * c).mean()
    out[name] = {"count": int(w.size), "mean": float(m), "std": float(np.sqrt(m2)), "min": float(w.min()),
                 "max": float(w.max()), "l2_norm": float(np.sqrt((w * w).sum())),
                 "kurtosis_excess": float((c ** 4).mean() / m2 ** 2 - 3)}
print(json.dumps(out))
