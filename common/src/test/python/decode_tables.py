"""Writes the float64 value of every bit pattern of F16, BF16, F8_E4M3 and F8_E5M2, decoded by numpy and
ml_dtypes, as little-endian float64 files: the independent oracle for ElementDecoder."""
import sys, os
import numpy as np
import ml_dtypes

out = sys.argv[1]
codes16 = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
codes8 = np.arange(256, dtype=np.uint16).astype(np.uint8)
tables = {
    "F16": codes16.view(np.float16),
    "BF16": codes16.view(ml_dtypes.bfloat16),
    "F8_E4M3": codes8.view(ml_dtypes.float8_e4m3fn),
    "F8_E5M2": codes8.view(ml_dtypes.float8_e5m2),
}
for name, arr in tables.items():
    arr.astype(np.float64).astype("<f8").tofile(os.path.join(out, name + ".f64"))
print("ok")
