"""Independent checks of `weightlab shrink --method subclone` (issue #9), numpy float64.

usage: subclone_check.py proxy TEACHER STUDENT   -> JSON: the weight-norm proxy recomputed here (squared norms of the
           columns that read each hidden dim: embedding, q/k/v, gate/up; rows that write it: o_proj, down_proj; FFN
           neuron: gate/up rows + down column), rankings (descending, ties by index), layers round(i(L-1)/(L'-1)),
           and every student tensor == teacher[rankings] (x sqrt(D/d) for q/k/v/gate/up)
       subclone_check.py stats OUT H I L           writes activation statistics whose E[x^2] ranks hidden dims in
           reverse order and FFN neurons in order
       subclone_check.py perm TEACHER STUDENT       -> JSON: logits of both in transformers (a pure permutation)
"""
import json, os, sys

import numpy as np
from safetensors.numpy import save_file

import wl_tensors



def tensors(d):
    return {k: v.astype(np.float64) for k, v in wl_tensors.tensors(d).items()}


def rank(score, d):
    return np.array(sorted(range(len(score)), key=lambda i: (-score[i], i))[:d])


def check(T, S, hid, ffn_of, keep, s):
    bad = []
    for name, v in S.items():
        parts = name.split(".")
        if name.startswith("model.layers."):
            l = int(parts[2])
            src = ".".join(parts[:2] + [str(keep[l])] + parts[3:])
            ffn = ffn_of(keep[l], v)
        else:
            src, ffn = name, None
        t = T[src]
        if "embed_tokens" in name or "lm_head" in name:
            want = t[:, hid]
        elif name.endswith("norm.weight"):
            want = t[hid]
        elif any(x in name for x in ("q_proj", "k_proj", "v_proj")):
            want = t[:, hid] * s
        elif "o_proj" in name:
            want = t[hid, :]
        elif "gate_proj" in name or "up_proj" in name:
            want = t[np.ix_(ffn, hid)] * s
        elif "down_proj" in name:
            want = t[np.ix_(hid, ffn)]
        else:
            bad.append(name + " (unknown)")
            continue
        if want.shape != v.shape or not np.allclose(want, v, rtol=1e-6, atol=0):
            bad.append(name)
    return bad


def main():
    mode = sys.argv[1]
    if mode == "stats":
        out, H, I, L = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        d = {}
        for l in range(L):
            p = f"model.layers.{l}."
            for m, diag in ((p + "self_attn.q_proj", np.arange(H) * 10.0), (p + "mlp.gate_proj", np.arange(H) * 10.0),
                            (p + "mlp.down_proj", (I - 1 - np.arange(I)) * 10.0 + 1)):
                d[m + ".count"] = np.array([10.0])
                d[m + ".mean"] = np.zeros(len(diag))
                d[m + ".m2"] = np.diag(diag)
        save_file(d, out)
        return
    T, S = tensors(sys.argv[2]), tensors(sys.argv[3])
    cfg_t = json.load(open(os.path.join(sys.argv[2], "config.json")))
    cfg_s = json.load(open(os.path.join(sys.argv[3], "config.json")))
    L, Ls = cfg_t["num_hidden_layers"], cfg_s["num_hidden_layers"]
    D, d = cfg_t["hidden_size"], cfg_s["hidden_size"]
    I2 = cfg_s["intermediate_size"]
    keep = [0] * Ls if Ls == 1 else [int(np.floor(i * (L - 1) / (Ls - 1) + 0.5)) for i in range(Ls)]
    s = np.sqrt(D / d)
    if mode == "proxy":
        h = (T["model.embed_tokens.weight"] ** 2).sum(0)
        ffn = {}
        for l in range(L):
            p = f"model.layers.{l}."
            for m in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "mlp.gate_proj", "mlp.up_proj"):
                h = h + (T[p + m + ".weight"] ** 2).sum(0)
            h = h + (T[p + "self_attn.o_proj.weight"] ** 2).sum(1) + (T[p + "mlp.down_proj.weight"] ** 2).sum(1)
            ffn[l] = (T[p + "mlp.gate_proj.weight"] ** 2).sum(1) + (T[p + "mlp.up_proj.weight"] ** 2).sum(1) + (T[p + "mlp.down_proj.weight"] ** 2).sum(0)
        bad = check(T, S, rank(h, d), lambda l, v: rank(ffn[l], I2), keep, s)
    elif mode == "fromstats":
        bad = check(T, S, np.arange(D)[::-1][:d], lambda l, v: np.arange(I2), keep, s)
    else:
        import torch
        from transformers import AutoModelForCausalLM
        a = AutoModelForCausalLM.from_pretrained(sys.argv[2], torch_dtype=torch.float32)
        b = AutoModelForCausalLM.from_pretrained(sys.argv[3], torch_dtype=torch.float32)
        ids = torch.tensor([[5, 6, 7, 300, 1200, 2, 40]])
        with torch.no_grad():
            la, lb = a(ids).logits, b(ids).logits
        print(json.dumps({"max_abs_logit_diff": float((la - lb).abs().max()), "max_abs_logit": float(la.abs().max())}))
        return
    print(json.dumps({"keep": keep, "mismatched": bad, "tensors": len(S)}))


main()
