"""Independent check of lossless width growth (`weightlab grow --set hidden_size=... --set num_attention_heads=...`).

usage: grow_width_check.py make OUT_DIR llama|qwen2 [--tied]   -> writes a seeded random float32 source
       grow_width_check.py check SOURCE_DIR GROWN_DIR           -> JSON
       grow_width_check.py probe SOURCE_DIR GROWN_DIR           -> the job's logit probe and transformers' (float64)
check: transformers logits of source and grown model on the same tokens (float32); then one SGD step on the grown
model and which new parameters it moved; whether copied heads / residual copies are exact copies (symmetric).
"""
import json, sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

if sys.argv[1] == "make":
    out, family, tied = sys.argv[2], sys.argv[3], "--tied" in sys.argv
    torch.manual_seed(7)
    common = dict(vocab_size=200, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=tied, rms_norm_eps=1e-5)
    m = LlamaForCausalLM(LlamaConfig(**common)) if family == "llama" else Qwen2ForCausalLM(Qwen2Config(**common))
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n.endswith("norm.weight"):
                p.copy_(1 + 0.3 * torch.randn_like(p))  # non-trivial gains, so their rescaling is tested
            else:
                p.normal_(0.0, 0.08)  # biases too: Qwen2's q/k/v biases are non-zero
    m.save_pretrained(out, safe_serialization=True)
    print("ok")
    sys.exit(0)

if sys.argv[1] == "probe":
    # the job's logit probe recomputed by transformers in float64 on the tokens its provenance records
    src_dir, grown_dir = sys.argv[2], sys.argv[3]
    probe = json.load(open(f"{grown_dir}/weightlab_provenance.json"))["run"]["logit_probe"]
    ids = torch.tensor([probe["tokens"]])
    with torch.no_grad():
        la = AutoModelForCausalLM.from_pretrained(src_dir, torch_dtype=torch.float64)(ids).logits[0]
        lb = AutoModelForCausalLM.from_pretrained(grown_dir, torch_dtype=torch.float64)(ids).logits[0]
    pa, pb = torch.log_softmax(la, -1), torch.log_softmax(lb, -1)
    print(json.dumps({"ours": probe, "max_abs_logit": float(la.abs().max()), "max_abs_logit_diff": float((la - lb).abs().max()),
                      "rel_l2_logit_diff": float((la - lb).norm() / la.norm()),
                      "mean_kl": float((pa.exp() * (pa - pb)).sum(-1).clamp(min=0).mean()),
                      "top1_agreement": float((la.argmax(-1) == lb.argmax(-1)).double().mean())}))
    sys.exit(0)

src_dir, grown_dir = sys.argv[2], sys.argv[3]
a = AutoModelForCausalLM.from_pretrained(src_dir, torch_dtype=torch.float32)
b, info = AutoModelForCausalLM.from_pretrained(grown_dir, torch_dtype=torch.float32, output_loading_info=True)
ids = torch.tensor([[3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46, 26, 43, 38, 32, 79]])
with torch.no_grad():
    la, lb = a(ids).logits, b(ids).logits
D, Dt = a.config.hidden_size, b.config.hidden_size
H, Ht = a.config.num_attention_heads, b.config.num_attention_heads
hd = D // H
k = Dt // D
P0 = {n: p.detach().clone() for n, p in b.named_parameters()}
q0 = P0["model.layers.0.self_attn.q_proj.weight"]
o0 = P0["model.layers.0.self_attn.o_proj.weight"]
# head H copies head 0: its q rows on the source's columns are exact copies before training
# (summed over the k residual copies, whose shares carry a zero-sum perturbation)
qf = sum(q0[:, c * D:(c + 1) * D] for c in range(k))
heads_equal_before = bool(torch.allclose(qf[H * hd:(H + 1) * hd], qf[:hd], rtol=0, atol=1e-6)) if Ht > H else None
# the o_proj shares of the two copies of head 0 differ (split with a zero-sum perturbation), yet sum to the source's
o_src = a.model.layers[0].self_attn.o_proj.weight.detach()
o_shares_differ = bool(not torch.equal(o0[:D, :hd], o0[:D, H * hd:(H + 1) * hd])) if Ht > H else None
o_shares_sum_err = float((o0[:D, :hd] + o0[:D, H * hd:(H + 1) * hd] - o_src[:, :hd]).abs().max()) if Ht > H and H * 2 >= Ht else None
resid_copies_differ = bool(not torch.equal(q0[:, :D], q0[:, D:2 * D])) if k >= 2 else None

opt = torch.optim.SGD(b.parameters(), lr=0.1)
b.train()
loss = b(ids, labels=ids).loss
loss.backward()
opt.step()
P1 = {n: p.detach() for n, p in b.named_parameters()}
q1 = P1["model.layers.0.self_attn.q_proj.weight"]

def moved(n, sl):
    return float((P1[n][sl] - P0[n][sl]).abs().max())

new_blocks = {
    "q_proj rows of new heads": moved("model.layers.0.self_attn.q_proj.weight", (slice(H * hd, None),)),
    "o_proj residue rows": moved("model.layers.1.self_attn.o_proj.weight", (slice(k * D, None),)) if Dt > k * D else None,
    "o_proj columns of new heads": moved("model.layers.0.self_attn.o_proj.weight", (slice(None), slice(H * hd, None))),
    "down_proj residue rows": moved("model.layers.0.mlp.down_proj.weight", (slice(k * D, None),)) if Dt > k * D else None,
    "embed residue columns": moved("model.embed_tokens.weight", (slice(None), slice(k * D, None))) if Dt > k * D else None,
}
heads_diverge_after = float((q1[H * hd:(H + 1) * hd, :D] - q1[:hd, :D]).abs().max()) if Ht > H else None
# readers' residue columns see a zero input at step 0, so their first gradient is zero; once the first step has
# made the residue non-zero (writers' residue rows moved), the second step moves them
if Dt > k * D:
    opt.zero_grad()
    b(ids, labels=ids).loss.backward()
    opt.step()
    new_blocks["q_proj residue columns (second step)"] = moved("model.layers.0.self_attn.q_proj.weight", (slice(None), slice(k * D, None)))
print(json.dumps({"missing": list(info["missing_keys"]), "unexpected": list(info["unexpected_keys"]),
                  "max_abs_logit_diff": float((la - lb).abs().max()), "max_abs_logit": float(la.abs().max()),
                  "hidden": Dt, "heads": Ht, "kv_heads": b.config.num_key_value_heads, "rms_norm_eps": b.config.rms_norm_eps,
                  "heads_equal_before": heads_equal_before, "o_shares_differ": o_shares_differ, "o_shares_sum_err": o_shares_sum_err,
                  "resid_copies_differ": resid_copies_differ, "loss": float(loss),
                  "new_blocks_moved": {n: v for n, v in new_blocks.items() if v is not None},
                  "heads_diverge_after_step": heads_diverge_after}))
