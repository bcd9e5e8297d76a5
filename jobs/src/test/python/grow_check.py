"""Independent check of `weightlab grow` (issue #9): source and grown models in transformers (float32) give the
same logits; every source tensor sits unchanged in the leading block of its grown tensor; the output side of
every new unit (down_proj columns past the source's width, o_proj and down_proj of new layers) is zero.

usage: grow_check.py SOURCE_DIR GROWN_DIR   -> JSON
"""
import json, os, sys

import numpy as np
import torch
from wl_tensors import tensors
from transformers import AutoModelForCausalLM




S, G = tensors(sys.argv[1]), tensors(sys.argv[2])
a = AutoModelForCausalLM.from_pretrained(sys.argv[1], torch_dtype=torch.float32)
b, info = AutoModelForCausalLM.from_pretrained(sys.argv[2], torch_dtype=torch.float32, output_loading_info=True)
ids = torch.tensor([[3, 14, 15, 92, 65, 35, 89, 79, 32, 38]])
with torch.no_grad():
    la, lb = a(ids).logits, b(ids).logits
leading = all(np.array_equal(G[k][tuple(slice(0, n) for n in v.shape)], v) for k, v in S.items())
zero_out = True
for k, v in G.items():
    if k in S:
        if k.endswith("down_proj.weight"):
            zero_out &= bool(np.all(v[:, S[k].shape[1]:] == 0))
    elif k.endswith("o_proj.weight") or k.endswith("down_proj.weight"):
        zero_out &= bool(np.all(v == 0))
new_random = any(k not in S and k.endswith("q_proj.weight") and np.std(v) > 0 for k, v in G.items())
print(json.dumps({"missing": list(info["missing_keys"]), "unexpected": list(info["unexpected_keys"]),
                  "max_abs_logit_diff": float((la - lb).abs().max()), "max_abs_logit": float(la.abs().max()),
                  "source_in_leading_blocks": leading, "new_output_side_zero": zero_out, "new_input_side_random": new_random,
                  "layers": b.config.num_hidden_layers, "intermediate": b.config.intermediate_size}))
