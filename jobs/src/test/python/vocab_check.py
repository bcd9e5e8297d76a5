"""Independent check of `weightlab extend-vocab`: the grown model loads in transformers with the new vocabulary
size; old rows and every other tensor are byte-identical; new rows compared with numpy (float64) computations on
the source's rows: the mean, the pieces' mean, the fitted Gaussian (sample mean and covariance), the convex hull.

usage: vocab_check.py SOURCE_DIR GROWN_DIR...   -> JSON list, one object per grown model
"""
import json, os, sys

import numpy as np
import torch
from wl_tensors import tensors
from transformers import AutoModelForCausalLM

def check(source, grown):
    S, G = tensors(source, "torch"), tensors(grown, "torch")
    listing = json.load(open(os.path.join(grown, "new_tokens.json")))
    model = AutoModelForCausalLM.from_pretrained(grown, torch_dtype=torch.float32)
    with torch.no_grad():
        logits = model(torch.tensor([[1, 5, 7]])).logits
    n = listing["old_rows"]


    def raw(t):
        return t.contiguous().view(torch.uint8).numpy().tobytes()


    out = {"vocab_size": model.config.vocab_size, "logits_width": logits.shape[-1], "tied": "lm_head.weight" not in G,
           "input_is_output": model.get_input_embeddings().weight.data_ptr() == model.get_output_embeddings().weight.data_ptr(),
           "others_identical": all(raw(S[k]) == raw(G[k]) for k in S if "embed_tokens" not in k and "lm_head" not in k),
           "same_names": sorted(S) == sorted(G), "rows": {}}
    added = [t for t in listing["tokens"] if t["status"] == "added"]
    for name in [k for k in G if "embed_tokens" in k or k == "lm_head.weight"]:
        old, new = S[name].double().numpy(), G[name].double().numpy()
        fresh = new[n:n + len(added)]
        r = {"old_rows_identical": raw(S[name]) == raw(G[name][:n]), "shape": list(new.shape)}
        mu = old.mean(axis=0)
        r["max_abs_mean"] = float(np.abs(mu).max())
        r["mean_err"] = float(np.abs(fresh - mu).max())
        pad = new[n + len(added):]
        r["padding_rows"] = len(pad)
        r["padding_err"] = float(np.abs(pad - mu).max()) if len(pad) else 0.0
        if "pieces" in added[0]:
            r["pieces_mean_err"] = float(max(np.abs(fresh[i] - old[t["pieces"]].mean(axis=0)).max() for i, t in enumerate(added)))
            worst = 0.0
            for i, t in enumerate(added):  # least-squares weights of the pieces: x = Σ w_i e_i with w >= 0, Σ w = 1
                P = old[t["pieces"]]
                w = np.linalg.lstsq(P.T, fresh[i], rcond=None)[0]
                worst = max(worst, float(np.abs(P.T @ w - fresh[i]).max()), float(max(0, -w.min())), abs(float(w.sum()) - 1))
            r["convex_err"] = worst
            r["multi_piece_rows"] = sum(len(set(t["pieces"])) > 1 for t in added)
        k = len(fresh)
        sigma = np.cov(old, rowvar=False, bias=True)  # Hewitt's Σ = (E−μ)ᵀ(E−μ)/n
        m_hat, c_hat = fresh.mean(axis=0), np.cov(fresh, rowvar=False)
        var = np.diag(sigma)
        # z-scores of the sample mean and covariance against the fitted ones: Var(ĉ_ij) = (Σ_ii Σ_jj + Σ_ij²)/k
        r["mean_z"] = float(np.abs((m_hat - mu) / np.sqrt(var / k)).max())
        r["cov_z"] = float(np.abs((c_hat - sigma) / np.sqrt((np.outer(var, var) + sigma ** 2) / k)).max())
        r["sample_std"] = float(fresh.std())
        r["new_rows"] = k
        out["rows"][name] = r
    return out


print(json.dumps([check(sys.argv[1], g) for g in sys.argv[2:]]))
