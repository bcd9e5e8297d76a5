"""Independent check of `weightlab shrink` (issue #9): the student loads in transformers with no missing or
unexpected key, and every student tensor equals the teacher's under the closed-form index rule
student[i, j, ...] = teacher[floor(i D0/S0), floor(j D1/S1), ...] (numpy), same name, so the first N layers.

usage: shrink_check.py TEACHER_DIR STUDENT_DIR   -> JSON
"""
import json, os, sys

import numpy as np
import torch
from wl_tensors import tensors
from transformers import AutoModelForCausalLM




T, S = tensors(sys.argv[1]), tensors(sys.argv[2])
model, info = AutoModelForCausalLM.from_pretrained(sys.argv[2], torch_dtype=torch.float32, output_loading_info=True)
with torch.no_grad():
    finite = bool(torch.isfinite(model(torch.tensor([[1, 2, 3, 4]])).logits).all())
bad = []
for name, s in S.items():
    t = T[name]
    idx = np.ix_(*[np.arange(n) * d // n for n, d in zip(s.shape, t.shape)])
    if not np.array_equal(t[idx], s):
        bad.append(name)
print(json.dumps({"missing": list(info["missing_keys"]), "unexpected": list(info["unexpected_keys"]), "finite": finite,
                  "tensors": len(S), "mismatched_values": bad, "shapes": {k: list(v.shape) for k, v in S.items()}}))
