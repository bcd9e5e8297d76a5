"""Independent check of `weightlab import MODEL.onnx --model-config FILE`: the imported directory loads in transformers.

usage: import_load_check.py OUT_DIR MODEL.onnx
Loads OUT_DIR with transformers' AutoModel (the architecture its config.json names; no pooler, as the ONNX export has
none) and reports missing / unexpected keys, then runs one sentence through it and through the ONNX graph itself
(onnx.reference.ReferenceEvaluator, numpy) and reports the largest difference of last_hidden_state.
"""
import json, sys

import numpy as np
import onnx
import torch
from onnx.reference import ReferenceEvaluator
from transformers import AutoModel


def main():
    out, onnx_path = sys.argv[1], sys.argv[2]
    model, info = AutoModel.from_pretrained(out, output_loading_info=True, add_pooling_layer=False, dtype=torch.float32)
    model.eval()
    ids = np.array([[101, 7592, 1010, 2088, 999, 102]], dtype=np.int64)  # [CLS] hello , world ! [SEP]
    mask = np.ones_like(ids)
    types = np.zeros_like(ids)
    with torch.no_grad():
        ours = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                     token_type_ids=torch.from_numpy(types)).last_hidden_state.numpy()
    ref = ReferenceEvaluator(onnx.load(onnx_path)).run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
    print(json.dumps({
        "class": type(model).__name__,
        "missing": sorted(info["missing_keys"]),
        "unexpected": sorted(info["unexpected_keys"]),
        "mismatched": [list(map(str, m)) for m in info["mismatched_keys"]],
        "max_abs_diff": float(np.abs(ours - ref).max()),
        "max_abs": float(np.abs(ref).max()),
    }))


if __name__ == "__main__":
    main()
