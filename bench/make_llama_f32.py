"""A TinyLlama-shaped (hidden 2048, intermediate 5632) 2-block float32 Llama with random weights, saved by transformers.
usage: make_llama_f32.py OUT_DIR [LAYERS]"""
import sys, torch
from transformers import LlamaConfig, LlamaForCausalLM
torch.manual_seed(0)
cfg = LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=int(sys.argv[2]) if len(sys.argv) > 2 else 2,
                  num_attention_heads=32, num_key_value_heads=4, tie_word_embeddings=False)
LlamaForCausalLM(cfg).save_pretrained(sys.argv[1], safe_serialization=True)
