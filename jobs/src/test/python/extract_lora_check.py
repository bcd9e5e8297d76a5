"""extract-lora's oracle: a small random Llama base and a fine-tune whose deltas have known ranks, and the check that
PEFT loading the extracted adapter onto the base gives the fine-tune back (exactly where rank(dW) <= r, else to the
residual energy numpy's SVD predicts). make-vocab: fine-tunes that also change the embedding and the head (untied, and
a tied pair); check reports the embedding and head against numpy's top-k reconstruction under "vocab"."""
import argparse
import json
import os

import numpy as np
import torch
from safetensors.numpy import load_file


def make(a):
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    def cfg(inter):
        return LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=inter, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=False)
    base = LlamaForCausalLM(cfg(96))
    with torch.no_grad():
        for n, p in base.named_parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.05)
    base.save_pretrained(os.path.join(a.dir, "base"), safe_serialization=True)
    g = torch.Generator().manual_seed(3)
    sd = {k: v.clone() for k, v in base.state_dict().items()}
    for n, v in sd.items():
        if v.dim() != 2 or ".layers." not in n or "k_proj" in n:
            continue  # embeddings, head, norms and k_proj unchanged: k_proj gets no adapter
        if "q_proj" in n or "o_proj" in n:  # low rank: 2 and 5
            k = 2 if "q_proj" in n else 5
            d = torch.randn(v.shape[0], k, generator=g) @ torch.randn(k, v.shape[1], generator=g) * 0.01
        else:  # full rank
            d = torch.randn(v.shape, generator=g) * 0.003
        sd[n] = v + d
    ft = LlamaForCausalLM(cfg(96))
    ft.load_state_dict(sd)
    ft.save_pretrained(os.path.join(a.dir, "ft"), safe_serialization=True)
    bad = LlamaForCausalLM(cfg(80))
    bad.save_pretrained(os.path.join(a.dir, "shape"), safe_serialization=True)
    sd["model.layers.1.self_attn.v_proj.weight"][2, 3] = float("nan")
    ft.load_state_dict(sd)
    ft.save_pretrained(os.path.join(a.dir, "nan"), safe_serialization=True)
    print("ok")


def llama(tied, seed):
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    m = LlamaForCausalLM(LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                     tie_word_embeddings=tied))
    with torch.no_grad():
        for n, p in m.named_parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.05)
    return m


def low_rank(shape, k, scale, g):
    return torch.randn(shape[0], k, generator=g) @ torch.randn(k, shape[1], generator=g) * scale


def make_vocab(a):
    """vft: base's q_proj changed (rank 2), embed_tokens by rank 3 plus full-rank noise, lm_head by exactly rank 3.
    tied/tft: a tied-embedding model and a fine-tune whose shared matrix changed by rank 2 plus noise."""
    g = torch.Generator().manual_seed(5)
    base = llama(False, 0)
    base.save_pretrained(os.path.join(a.dir, "base"), safe_serialization=True)
    sd = {k: v.clone() for k, v in base.state_dict().items()}
    for n, v in sd.items():
        if "q_proj" in n:
            sd[n] = v + low_rank(v.shape, 2, 0.01, g)
    e, h = "model.embed_tokens.weight", "lm_head.weight"
    sd[e] = sd[e] + low_rank(sd[e].shape, 3, 0.01, g) + torch.randn(sd[e].shape, generator=g) * 1e-4
    sd[h] = sd[h] + low_rank(sd[h].shape, 3, 0.01, g)
    ft = llama(False, 0)
    ft.load_state_dict(sd)
    ft.save_pretrained(os.path.join(a.dir, "vft"), safe_serialization=True)
    tied = llama(True, 1)
    tied.save_pretrained(os.path.join(a.dir, "tied"), safe_serialization=True)
    with torch.no_grad():
        w = tied.model.embed_tokens.weight
        w += low_rank(w.shape, 2, 0.01, g) + torch.randn(w.shape, generator=g) * 1e-4
    tied.save_pretrained(os.path.join(a.dir, "tft"), safe_serialization=True)
    print("ok")


def vocab(base, ft, merged, prov):
    """The embedding and the head: merged vs W_base + numpy's rank-k SVD of dW (k from the provenance, 0 without
    an adapter); a tied head (no lm_head tensor stored) is compared with the embedding's matrices."""
    out = {}
    for name in ("model.embed_tokens.weight", "lm_head.weight"):
        src = name if name in base else "model.embed_tokens.weight"
        wb, wf = base[src].astype(np.float64), ft[src].astype(np.float64)
        u, s, vt = np.linalg.svd(wf - wb, full_matrices=False)
        module = src[:-len(".weight")]
        k = prov[module]["rank"] if module in prov else 0
        want = wb + (u[:, :k] * s[:k]) @ vt[:k]
        scale = np.abs(wf).max()
        fro = float(np.sqrt((s ** 2).sum()))
        r = {"source": module, "rank": k, "numpy_rank_1e-6": int((s > 1e-6).sum()),
             "merged_minus_want_max_rel": float(np.abs(merged[name] - want).max() / scale),
             "merged_minus_ft_max_rel": float(np.abs(merged[name] - wf).max() / scale),
             "merged_minus_base_max_rel": float(np.abs(merged[name] - wb).max() / scale),
             "numpy_residual_energy": float(np.sqrt((s[k:] ** 2).sum()) / fro) if fro > 0 else 0.0,
             "numpy_sigma_max": float(s[0]), "numpy_sigma_kept": float(s[k - 1]) if k else 0.0, "delta_frobenius": fro}
        out[name] = r
    return out


def check(a):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    base = load_file(os.path.join(a.base, "model.safetensors"))
    ft = load_file(os.path.join(a.ft, "model.safetensors"))
    keys = {k: list(v.shape) for k, v in load_file(os.path.join(a.out, "adapter_model.safetensors")).items()}
    prov = {m["module"]: m for m in json.load(open(os.path.join(a.out, "weightlab_provenance.json")))["modules"]}
    model = AutoModelForCausalLM.from_pretrained(a.base, torch_dtype=torch.float32)
    peft = PeftModel.from_pretrained(model, a.out)
    adapted = sorted(n[len("base_model.model."):-len(".lora_A")] for n, _ in peft.named_modules() if n.endswith(".lora_A"))
    # every LoRA layer has a lora_embedding_A dict; only an adapted embedding's holds a parameter
    adapted += sorted(n[len("base_model.model."):-len(".lora_embedding_A")] for n, m in peft.named_modules()
                      if n.endswith(".lora_embedding_A") and len(m) > 0)
    merged = {k: v.detach().double().numpy() for k, v in peft.merge_and_unload().state_dict().items()}
    res = {"adapted": adapted, "modules": {}, "adapter_keys": keys, "vocab": vocab(base, ft, merged, prov)}
    for name, wb in base.items():
        if wb.ndim != 2 or ".layers." not in name:
            continue
        module = name[:-len(".weight")]
        d = ft[name].astype(np.float64) - wb.astype(np.float64)
        s = np.linalg.svd(d, compute_uv=False)
        fro = float(np.sqrt((s ** 2).sum()))
        r = {"numpy_rank_1e-6": int((s > 1e-6 * max(s[0], 1e-300)).sum()) if fro > 0 else 0, "delta_frobenius": fro}
        got = merged[name] - ft[name].astype(np.float64)
        r["merged_minus_ft_max_rel"] = float(np.abs(got).max() / np.abs(ft[name]).max())
        if module in prov:
            k = prov[module]["rank"]
            r["rank"] = k
            r["numpy_residual_energy"] = float(np.sqrt((s[k:] ** 2).sum()) / fro)
            r["measured_residual_energy"] = float(np.linalg.norm(merged[name] - ft[name].astype(np.float64)) / fro)
            r["numpy_sigma_kept"] = float(s[k - 1])
            r["numpy_sigma_max"] = float(s[0])
        res["modules"][module] = r
    cfg = json.load(open(os.path.join(a.out, "adapter_config.json")))
    res["config"] = {k: cfg[k] for k in ("r", "lora_alpha", "rank_pattern", "alpha_pattern", "target_modules", "base_model_name_or_path")}
    print(json.dumps(res))


ap = argparse.ArgumentParser()
sub = ap.add_subparsers(dest="cmd", required=True)
mk = sub.add_parser("make")
mk.add_argument("dir")
mv = sub.add_parser("make-vocab")
mv.add_argument("dir")
ck = sub.add_parser("check")
ck.add_argument("out"); ck.add_argument("base"); ck.add_argument("ft")
a = ap.parse_args()
{"make": make, "make-vocab": make_vocab, "check": check}[a.cmd](a)
