"""Many tiny checkpoints for the fleet planning test: DIR/ckpt-NNNN/model.safetensors, N of them. Checkpoint i holds
an 8 x 16 float32 up_proj whose values are +s_i and -s_i alternately (mean 0, population std s_i exactly, s_i =
1 + i/1024, a power of two apart so every value is exact in float32) and a float32 norm of 16 ones.
Usage: fleet_tiny.py DIR N"""
import os, sys
import numpy as np
from safetensors.numpy import save_file

def main():
    root, n = sys.argv[1], int(sys.argv[2])
    signs = np.where(np.arange(128) % 2 == 0, 1.0, -1.0).reshape(8, 16)
    for i in range(n):
        d = os.path.join(root, f"ckpt-{i:04d}")
        os.makedirs(d, exist_ok=True)
        s = 1.0 + i / 1024.0
        save_file({"model.layers.0.mlp.up_proj.weight": (signs * s).astype(np.float32),
                   "model.norm.weight": np.ones(16, dtype=np.float32)}, os.path.join(d, "model.safetensors"))

if __name__ == "__main__":
    main()
