#!/usr/bin/env python3
"""Collects what WeightLab's data-driven LoRA inits read, from a Hugging Face model and a dataset, with PyTorch.

  weightlab_collect.py activations MODEL_DIR OUT.safetensors --target-modules all-linear --text data.txt
      per targeted Linear: count, mean [in], m2 [in, in] = sum (x-mean)(x-mean)^T of its inputs over all
      non-padding tokens (and, with --label-mask, tokens whose label is not -100), float64, merged batch by batch
      with Chan's formula. Modules fed the same tensor (q/k/v, gate/up) are stored once; the metadata key
      "weightlab.shared_input" maps each of them to the stored one. -> `weightlab lora-init --method eva --activations`
  weightlab_collect.py gradients MODEL_DIR OUT.safetensors --target-modules all-linear --text data.txt
      per targeted Linear weight: the mean over batches of d(causal-LM loss)/dW, float32, under the weight's own
      name (what PEFT's LoRA-GA estimate_gradients computes). -> `weightlab lora-init --method lora_ga|lora_sb --gradients`

Data: --text FILE (one example per line, tokenized with MODEL_DIR's tokenizer) or --token-ids FILE (JSON lines,
each a list of token ids). Layout of both files: docs/activation-stats.md. Runs on CPU or CUDA (--device).
"""
import argparse, json, sys
import torch
from safetensors.torch import save_file


def load_batches(a, model_dir):
    if a.token_ids:
        with open(a.token_ids) as f:
            seqs = [json.loads(line)[: a.max_length] for line in f if line.strip()]
    else:
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(model_dir)
        with open(a.text) as f:
            seqs = [tok(line.rstrip("\n"), truncation=True, max_length=a.max_length)["input_ids"] for line in f if line.strip()]
    if not seqs:
        sys.exit("no examples in the dataset")
    for i in range(0, len(seqs), a.batch_size):
        if a.max_batches and i // a.batch_size >= a.max_batches:
            break
        chunk = seqs[i: i + a.batch_size]
        width = max(len(s) for s in chunk)
        ids = torch.zeros(len(chunk), width, dtype=torch.long)
        mask = torch.zeros(len(chunk), width, dtype=torch.long)
        for j, s in enumerate(chunk):
            ids[j, : len(s)] = torch.tensor(s)
            mask[j, : len(s)] = 1
        labels = ids.masked_fill(mask == 0, -100)
        yield ids.to(a.device), mask.to(a.device), labels.to(a.device)


def load_model(model_dir, device):
    from transformers import AutoModelForCausalLM, AutoModel
    try:
        m = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    except (ValueError, KeyError):
        m = AutoModel.from_pretrained(model_dir, dtype=torch.float32)
    return m.to(device)


def targets(model, spec):
    """PEFT's matching: names exact or as a dotted suffix, one regex (full match), or all-linear (not the output head)."""
    import re
    keys = spec.split(",")
    out = {}
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    for name, mod in model.named_modules():
        if not isinstance(mod, torch.nn.Linear):
            continue
        if keys == ["all-linear"]:
            hit = mod is not head
        elif len(keys) == 1 and re.search(r"[\\\[\]()*+?|^$]", keys[0]):
            hit = re.fullmatch(keys[0], name) is not None
        else:
            hit = any(name == k or name.endswith("." + k) for k in keys)
        if hit:
            out[name] = mod
    if not out:
        sys.exit(f"--target-modules {spec} matches no Linear module")
    return out


def activations(a):
    model = load_model(a.model, a.device).eval()
    mods = targets(model, a.target_modules)
    state = {n: None for n in mods}  # name -> [count, mean, m2] (float64)
    shared, first_seen, keep_alive = {}, {}, []
    cur = {}

    def hook(name):
        def f(mod, inputs):
            x = inputs[0]
            if cur["first"]:
                keep_alive.append(x)  # holds the tensor so its id cannot be reused by another within this batch
                rep = first_seen.setdefault(id(x), name)
                if rep != name:
                    shared[name] = rep
            if name in shared:
                return
            sel = cur["select"]
            xs = x.detach().reshape(-1, x.shape[-1])[sel].double()
            nb = xs.shape[0]
            if nb == 0:
                return
            mb = xs.mean(0)
            c = xs - mb
            m2b = c.T @ c
            st = state[name]
            if st is None:
                state[name] = [nb, mb, m2b]
            else:  # Chan et al.: merge (n, mean, M2) without subtracting large sums
                na, ma, m2a = st
                n = na + nb
                d = mb - ma
                st[0], st[1], st[2] = n, ma + d * (nb / n), m2a + m2b + torch.outer(d, d) * (na * nb / n)
        return f

    handles = [m.register_forward_pre_hook(hook(n)) for n, m in mods.items()]
    batches = 0
    with torch.no_grad():
        for ids, mask, labels in load_batches(a, a.model):
            keep = mask.reshape(-1).bool()
            if a.label_mask:
                keep &= labels.reshape(-1) != -100
            cur["select"], cur["first"] = keep, batches == 0
            model(input_ids=ids, attention_mask=mask)
            keep_alive.clear()
            batches += 1
    for h in handles:
        h.remove()
    tensors = {}
    for name, st in state.items():
        if name in shared:
            continue
        if st is None or st[0] < 2:
            sys.exit(f"module {name}: fewer than 2 tokens seen")
        tensors[f"{name}.count"] = torch.tensor([float(st[0])], dtype=torch.float64)
        tensors[f"{name}.mean"] = st[1].cpu().contiguous()
        tensors[f"{name}.m2"] = st[2].cpu().contiguous()
    meta = {"weightlab.activation_stats": "centred", "weightlab.shared_input": json.dumps(shared, sort_keys=True),
            "batches": str(batches), "label_mask": str(a.label_mask).lower()}
    save_file(tensors, a.out, metadata=meta)
    print(f"{len(state) - len(shared)} module input(s) stored, {len(shared)} shared, {batches} batch(es) -> {a.out}")


def gradients(a):
    model = load_model(a.model, a.device).train()
    mods = targets(model, a.target_modules)
    for p in model.parameters():
        p.requires_grad_(False)
    for m in mods.values():
        m.weight.requires_grad_(True)
    batches = 0
    for ids, mask, labels in load_batches(a, a.model):
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        batches += 1
    tensors = {f"{n}.weight": (m.weight.grad / batches).float().cpu().contiguous() for n, m in mods.items()}
    save_file(tensors, a.out, metadata={"weightlab.gradients": "mean over batches of dL/dW", "batches": str(batches),
                                        "loss": "causal-lm"})
    print(f"{len(tensors)} gradient(s), {batches} batch(es) -> {a.out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["activations", "gradients"])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--target-modules", required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--text")
    src.add_argument("--token-ids")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-batches", type=int, default=0)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--label-mask", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    (activations if a.what == "activations" else gradients)(a)


if __name__ == "__main__":
    main()
