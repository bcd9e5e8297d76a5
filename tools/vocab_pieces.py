#!/usr/bin/env python3
"""Pieces of new tokens for `weightlab extend-vocab --method subword-mean|convex`: splits every token of a
plain-text list (one per line) with the model's own tokenizer.json, as the old tokenizer would, and prints the
.jsonl the job reads: {"token": ..., "ids": [...]}. Needs the `tokenizers` package (pip install tokenizers).

usage: vocab_pieces.py MODEL_DIR_OR_TOKENIZER_JSON TOKENS.txt > TOKENS.jsonl
"""
import json, os, sys

from tokenizers import Tokenizer


def main(model, tokens):
    path = os.path.join(model, "tokenizer.json") if os.path.isdir(model) else model
    tok = Tokenizer.from_file(path)
    with open(tokens, encoding="utf-8") as f:
        for line in f:
            token = line.rstrip("\r\n")
            if not token.strip():
                continue
            ids = tok.encode(token, add_special_tokens=False).ids
            if not ids:
                sys.exit(f"{tokens}: '{token}' gives no pieces with {path}")
            print(json.dumps({"token": token, "ids": ids}, ensure_ascii=False))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
