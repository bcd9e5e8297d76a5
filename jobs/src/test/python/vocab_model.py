"""A tiny random Llama (hidden 16, one layer) with its own BPE tokenizer.json, for extend-vocab's tests.

usage: vocab_model.py OUT_DIR TIED(0|1) DTYPE(float32|bfloat16)   -> JSON {"vocab": n}
"""
import json, sys

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM

out, tied, dtype = sys.argv[1], sys.argv[2] == "1", getattr(torch, sys.argv[3])
tok = Tokenizer(models.BPE(unk_token="<unk>"))
tok.pre_tokenizer = pre_tokenizers.Whitespace()
text = ["the quick brown fox jumps over the lazy dog while weights and tokens grow in the model"] * 20
tok.train_from_iterator(text, trainers.BpeTrainer(vocab_size=120, special_tokens=["<unk>", "<s>", "</s>"]))
tok.save(f"{out}/tokenizer.json")
torch.manual_seed(5)
cfg = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                  num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=tied, initializer_range=0.05)
m = LlamaForCausalLM(cfg).to(dtype)
with torch.no_grad():  # rows with distinct means per dimension, so the mean and covariance tests have something to find
    m.model.embed_tokens.weight.add_(torch.linspace(-0.1, 0.1, 16, dtype=dtype))
m.save_pretrained(out)
print(json.dumps({"vocab": tok.get_vocab_size()}))
