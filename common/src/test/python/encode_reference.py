"""Reference fp32 -> fp16 / bf16 rounding (numpy, ml_dtypes: round to nearest even) for ElementEncoderTest.

Writes inputs.u32 (float32 bit patterns: random, every exponent with tie/near-tie low bits, subnormals,
overflow edges) and the numpy/ml_dtypes encodings f16.u16 and bf16.u16 into the given directory.
"""
import sys, os
import numpy as np
import ml_dtypes

out = sys.argv[1]
rng = np.random.default_rng(20261122)
parts = [rng.integers(0, 2**32, size=1_000_000, dtype=np.uint64).astype(np.uint32)]
hi = np.arange(0, 2**16, dtype=np.uint32) << 16
for low in (0x0000, 0x7FFF, 0x8000, 0x8001, 0xFFFF):  # bf16 ties and near-ties for every upper half
    parts.append(hi | np.uint32(low))
mant_hi = (np.arange(0, 2**19, dtype=np.uint32) << 13)  # every f16-representable prefix, then f16 ties
for low in (0x0FFF, 0x1000, 0x1001):
    parts.append(mant_hi | np.uint32(low))
    parts.append((mant_hi | np.uint32(low)) | np.uint32(0x80000000))
x = np.concatenate(parts)
f = x.view(np.float32)
x = x[~np.isnan(f)]  # NaN payload rules differ between libraries; the test checks NaN on its own
f = x.view(np.float32)
with np.errstate(over="ignore"):
    f16 = f.astype(np.float16).view(np.uint16)
bf16 = f.astype(ml_dtypes.bfloat16).view(np.uint16)
x.tofile(os.path.join(out, "inputs.u32"))
f16.tofile(os.path.join(out, "f16.u16"))
bf16.tofile(os.path.join(out, "bf16.u16"))
print(len(x))
