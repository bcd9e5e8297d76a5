"""Shared by the check scripts: every tensor of a checkpoint directory (single file or shards), by name."""
import glob, os

def tensors(d, framework="numpy"):
    if framework == "torch":
        from safetensors.torch import load_file
    else:
        from safetensors.numpy import load_file
    out = {}
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        out.update(load_file(f))
    return out
