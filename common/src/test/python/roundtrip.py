"""Interop oracle with the reference safetensors library.
  write DIR       : writes every dtype with seeded random bits to DIR/ref.safetensors, and each tensor's float64
                    decoding (numpy/ml_dtypes) to DIR/<name>.f64; metadata {"format": "pt"} (with more keys the
                    reference writes them in random HashMap order, so only one key gives comparable bytes)
  count FILE      : loads FILE with the reference library and prints its number of tensors
  check FILE DIR  : loads FILE with safetensors and asserts it holds the same tensors as DIR/ref.safetensors
                    (names, dtypes, shapes, bytes); prints the number of tensors
"""
import sys, os, json
import numpy as np
import ml_dtypes
from safetensors.numpy import save_file
from safetensors import deserialize


def load_raw(path):
    """name -> (dtype string, shape, bytes), through the reference library's own validating parser."""
    with open(path, "rb") as f:
        return {name: (info["dtype"], tuple(info["shape"]), bytes(info["data"])) for name, info in deserialize(f.read())}

DTYPES = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "U16": np.uint16, "I32": np.int32,
    "U32": np.uint32, "I64": np.int64, "U64": np.uint64, "F16": np.float16, "BF16": ml_dtypes.bfloat16,
    "F32": np.float32, "F64": np.float64, "F8_E4M3": ml_dtypes.float8_e4m3fn, "F8_E5M2": ml_dtypes.float8_e5m2,
}

def make():
    rng = np.random.default_rng(7)
    tensors = {}
    shapes = [(3, 5), (7,), (2, 3, 4), (), (0, 4)]
    for i, (name, dt) in enumerate(DTYPES.items()):
        shape = shapes[i % len(shapes)]
        n = int(np.prod(shape)) if shape else 1
        itemsize = np.dtype(dt).itemsize
        if name == "BOOL":
            arr = rng.integers(0, 2, size=n).astype(np.bool_)
        elif name.startswith("F"):
            # random finite values, including subnormals and signed zeros, by sampling bit patterns
            raw = rng.integers(0, 256, size=n * itemsize, dtype=np.uint8)
            arr = raw.view(dt)
            bad = ~np.isfinite(arr.astype(np.float64))
            arr[bad] = dt(1.5)
        else:
            raw = rng.integers(0, 256, size=n * itemsize, dtype=np.uint8)
            arr = raw.view(dt)
        tensors["t." + name.lower()] = arr.reshape(shape)
    tensors["model.layers.10.x"] = np.arange(6, dtype=np.float32).reshape(2, 3)
    tensors["model.layers.2.x"] = np.arange(6, dtype=np.float32).reshape(3, 2)
    return tensors

cmd = sys.argv[1]
if cmd == "write":
    d = sys.argv[2]
    t = make()
    save_file(t, os.path.join(d, "ref.safetensors"), metadata={"format": "pt"})
    for k, v in t.items():
        v.astype(np.float64).astype("<f8").tofile(os.path.join(d, k + ".f64"))
    print(len(t))
elif cmd == "count":
    print(len(load_raw(sys.argv[2])))
elif cmd == "check":
    ours = load_raw(sys.argv[2])
    ref = load_raw(os.path.join(sys.argv[3], "ref.safetensors"))
    assert sorted(ours) == sorted(ref), (sorted(ours), sorted(ref))
    for k in ref:
        assert ours[k] == ref[k], (k, ours[k][:2], ref[k][:2])
    print(len(ref))
