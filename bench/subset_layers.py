"""Copies the tensors of one layer (and nothing else) of a single-file safetensors checkpoint, bytes unchanged.
  subset_layers.py IN.safetensors OUT_DIR PREFIX      e.g. PREFIX = model.layers.0."""
import json, os, struct, sys
src, out, prefix = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
with open(src, "rb") as fh:
    n = struct.unpack("<Q", fh.read(8))[0]
    header = json.loads(fh.read(n))
    base = 8 + n
    new, blobs, off = {}, [], 0
    for name, info in header.items():
        if name == "__metadata__" or not name.startswith(prefix):
            continue
        b, e = info["data_offsets"]
        fh.seek(base + b)
        blobs.append(fh.read(e - b))
        new[name] = {"dtype": info["dtype"], "shape": info["shape"], "data_offsets": [off, off + e - b]}
        off += e - b
new["__metadata__"] = {"format": "pt"}
h = json.dumps(new).encode()
h += b" " * (-len(h) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as fh:
    fh.write(struct.pack("<Q", len(h)) + h)
    for blob in blobs:
        fh.write(blob)
