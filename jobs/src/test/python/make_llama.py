"""A small Llama checkpoint (random weights, real transformers layout) for the rescale/reinit tests.

usage: make_llama.py OUT_DIR [--dtype bfloat16|float32]
Writes OUT_DIR/model.safetensors (via transformers' save_pretrained) and config.json.
"""
import sys, argparse
import torch
from transformers import LlamaConfig, LlamaForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--dtype", default="bfloat16")
a = ap.parse_args()
torch.manual_seed(0)
cfg = LlamaConfig(vocab_size=1000, hidden_size=256, intermediate_size=512, num_hidden_layers=4,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                  tie_word_embeddings=False, attention_bias=False)
m = LlamaForCausalLM(cfg)
with torch.no_grad():
    for n, p in m.named_parameters():
        if p.dim() == 2:
            p.normal_(0.001, 0.05)  # trained-like: larger than the 0.02 init, with a small mean
m = m.to(getattr(torch, a.dtype))
m.save_pretrained(a.out, safe_serialization=True)
print("ok")
