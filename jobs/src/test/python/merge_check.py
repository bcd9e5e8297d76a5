"""Oracles for `weightlab merge` (docs/algorithms.md "Model merging").

make DIR K [--bad] [--dtype float32|bfloat16]
    DIR/base: a small random Llama (transformers layout, config.json); DIR/ft0..ft{K-1}: "fine-tunes", the base plus a
    shared direction and a model-specific one (signs partly agree, as real task vectors do). --bad also writes
    DIR/nan (a fine-tune with one NaN) and DIR/shape (one with another intermediate size).
check CASES.json: a list of {out, recipe, peft, masks, uniforms, load}; prints one result per case (Python starts once)
    Recomputes the recipe from the papers' formulas in numpy (float64) with mergekit's parameter resolution written
    here independently (filters, gradients over layers), and, where PEFT has the same method, with
    peft.utils.merge_utils (task_arithmetic, ties, magnitude_prune, dare_linear with the masks WeightLab drew, given in
    MASKDIR as raw uint8 files <tensor>.<input>). della/della_linear take the uniforms WeightLab drew (UNIFORMDIR, raw
    float64 <tensor>.<input>) and do the rest here: ranks, keep probabilities, mask, rescale. Prints JSON: worst
    errors relative to the largest |value|, and whether transformers loads OUT with no missing key.
"""
import argparse, json, math, os, re, sys
import numpy as np
import torch
import yaml
from safetensors.numpy import load_file
sys.path.insert(0, os.path.dirname(__file__))
from wl_tensors import tensors


def make(a):
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    def cfg(inter):
        return LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=inter, num_hidden_layers=4,
                           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=False)
    base = LlamaForCausalLM(cfg(96))
    with torch.no_grad():
        for n, p in base.named_parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.05)
    dt = getattr(torch, a.dtype)
    base.to(dt).save_pretrained(os.path.join(a.dir, "base"), safe_serialization=True)
    g = torch.Generator().manual_seed(1)
    shared = {n: torch.randn(p.shape, generator=g, dtype=torch.float64) for n, p in base.named_parameters()}
    names = ["ft%d" % k for k in range(a.k)] + (["nan", "shape"] if a.bad else [])
    for name in names:
        ft = LlamaForCausalLM(cfg(80 if name == "shape" else 96))
        sd = {}
        for n, p in base.named_parameters():
            if p.shape != ft.state_dict()[n].shape:
                sd[n] = ft.state_dict()[n]
                continue
            own = torch.randn(p.shape, generator=g, dtype=torch.float64)
            sd[n] = (p.double() + 0.004 * (0.6 * shared[n] + own)).float()
        if name == "nan":
            sd["model.layers.1.mlp.up_proj.weight"][3, 5] = float("nan")
        ft.load_state_dict(sd)
        ft.to(dt).save_pretrained(os.path.join(a.dir, name), safe_serialization=True)
    if a.bad:  # bfloat16 copies of base, ft0, ft1: deltas of bf16 values tie often, so top-k must break ties by index
        import shutil
        from safetensors.torch import load_file as load_t, save_file
        for name in ("base", "ft0", "ft1"):
            d = os.path.join(a.dir, "bf16", name)
            os.makedirs(d, exist_ok=True)
            shutil.copy(os.path.join(a.dir, name, "config.json"), d)
            sd = {k: v.to(torch.bfloat16) for k, v in load_t(os.path.join(a.dir, name, "model.safetensors")).items()}
            save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    print("ok")


# ---- mergekit's parameter resolution, written from its documentation ----
def gradient(v, t):
    m = len(v)
    if m == 1:
        return v[0]
    s = t * (m - 1)
    i0 = min(m - 1, int(math.floor(s)))
    i1 = min(m - 1, i0 + 1)
    return v[i0] + (s - i0) * (v[i1] - v[i0])


def resolve(v, name, t):
    if v is None:
        return None
    if isinstance(v, list):
        if v and isinstance(v[0], dict):
            for f in v:
                if f.get("filter") in (None, "*") or f["filter"] in name:
                    return resolve(f["value"], name, t)
            return None
        return gradient([float(x) for x in v], t)
    return v


def position(name, layers):
    m = re.match(r"model\.layers\.(\d+)\.", name)
    if not m:
        return 0.0
    return 1.0 if layers == 1 else int(m.group(1)) / (layers - 1)


DEFAULTS = {"linear": {"normalize": True}, "task_arithmetic": {"normalize": False}, "ties": {"normalize": True},
            "dare_linear": {"normalize": False, "rescale": True}, "dare_ties": {"normalize": False, "rescale": True},
            "breadcrumbs": {"normalize": False}, "breadcrumbs_ties": {"normalize": False},
            "della": {"normalize": True, "rescale": True}, "della_linear": {"normalize": False, "rescale": True}}
DELLA_ROWS = [0]


def della_keep(tau, d, eps, u):
    """mergekit's della_magprune mask given the uniforms u (Deep et al. 2024): within each row along dim 1 (a 1-D tensor
    is one row), rank r = 1..R of |τ| ascending (ties: lower index first), keep probability d − ε + 2ε(r − 1)/(R − 1)
    (d when R = 1), keep where u < p."""
    t2 = tau if tau.ndim >= 2 else tau.reshape(1, -1)
    R = t2.shape[1]
    r = np.argsort(np.argsort(np.abs(t2), axis=1, kind="stable"), axis=1, kind="stable") + 1
    p = np.full(t2.shape, d) if R == 1 else (d - eps) + 2 * eps * (r - 1) / (R - 1)
    DELLA_ROWS[0] += t2.size // R
    return (u.reshape(t2.shape) < p).reshape(tau.shape)


def topk_mask(tau, k):
    flat = np.abs(tau).reshape(-1)
    order = np.lexsort((np.arange(flat.size), -flat))  # |τ| descending, index ascending
    m = np.zeros(flat.size, bool)
    m[order[:k]] = True
    return m.reshape(tau.shape)


def sparsify(method, tau, p, mask):
    d = p.get("density", 1.0)
    n = tau.size
    if method in ("ties",):
        return tau if d >= 1 else tau * topk_mask(tau, int(math.floor(d * n)))
    if method.startswith("breadcrumbs"):
        if d >= 1:
            return tau
        keep, top = int(math.floor(d * n)), int(math.floor(p.get("gamma", 0.01) * n))
        bot = n - keep - top
        if bot < 0:
            top += bot
            bot = 0
        ranks = np.empty(n, np.int64)
        flat = np.abs(tau).reshape(-1)
        ranks[np.lexsort((-np.arange(n), flat))] = np.arange(n)  # ascending |τ|, ties: later index lower
        sel = ((ranks >= bot) & (ranks < n - top)).reshape(tau.shape)
        return tau * sel
    if method.startswith("della"):
        if d >= 1:
            return tau
        mask = della_keep(tau, d, p.get("epsilon", 0.15), mask)  # mask: the uniforms here
    if method.startswith("dare") or method.startswith("della"):
        kept = tau * mask
        if p.get("rescale", True):
            a, b = np.abs(tau).sum(), np.abs(kept).sum()
            if a >= 1e-7 and b >= 1e-7:
                kept = kept * (a / b)
        return kept
    return tau


def reference(recipe, base, models, name, layers, masks):
    method = recipe["merge_method"]
    glob_p = dict(DEFAULTS.get(method, {}), lam=1.0)
    top = recipe.get("parameters") or {}
    t = position(name, layers)
    def gp(key, dflt):
        v = resolve(top.get(key), name, t)
        return dflt if v is None else v
    if method == "slerp":
        tt = float(gp("t", None))
        v0 = base[name].astype(np.float64).reshape(-1)
        other = [m for m in recipe["models"] if m["model"] != recipe["base_model"]][0]["model"]
        v1 = models[other][name].astype(np.float64).reshape(-1)
        n0, n1 = np.linalg.norm(v0), np.linalg.norm(v1)
        d = np.dot(v0 / (n0 if n0 > 1e-8 else 1), v1 / (n1 if n1 > 1e-8 else 1))
        if abs(d) > 0.9995:
            r = (1 - tt) * v0 + tt * v1
        else:
            th = math.acos(d)
            r = (math.sin((1 - tt) * th) * v0 + math.sin(tt * th) * v1) / math.sin(th)
        return r.reshape(base[name].shape)
    if method == "model_stock":  # Jang et al. 2024: t from the mean pairwise cosine of the task vectors
        b = base[name].astype(np.float64)
        ds = [models[m["model"]][name].astype(np.float64).reshape(-1) - b.reshape(-1) for m in recipe["models"] if m["model"] != recipe["base_model"]]
        n = len(ds)
        cs = [np.dot(ds[i], ds[j]) / max(np.linalg.norm(ds[i]) * np.linalg.norm(ds[j]), 1e-6) for i in range(n) for j in range(i + 1, n)]
        c = float(np.clip(np.mean(cs), -1, 1))
        t = n * c / (1 + (n - 1) * c)
        mean = sum(models[m["model"]][name].astype(np.float64) for m in recipe["models"] if m["model"] != recipe["base_model"]) / n
        return t * mean + (1 - t) * b
    if method == "nuslerp":  # two models, t = w2/(w1+w2); with a base, of the task vectors
        ents = [m for m in recipe["models"] if m["model"] != recipe.get("base_model")]
        w = [float(resolve(m["parameters"]["weight"], name, t)) for m in ents]
        tt = 0.5 if abs(sum(w)) < 1e-6 else w[1] / sum(w)
        b = base[name].astype(np.float64) if recipe.get("base_model") else 0.0
        v0, v1 = [models[m["model"]][name].astype(np.float64) - b for m in ents]

        def slerp(a0, a1):
            u0 = a0 / max(np.linalg.norm(a0), 1e-7)
            u1 = a1 / max(np.linalg.norm(a1), 1e-7)
            th = math.acos(float(np.clip((u0 * u1).sum(), -1, 1)))
            if abs(math.sin(th)) < 1e-8:
                return (1 - tt) * a0 + tt * a1
            return (math.sin((1 - tt) * th) * a0 + math.sin(tt * th) * a1) / math.sin(th)
        if gp("nuslerp_flatten", True) in (False, "false"):  # each row W[i,:] (last dimension) on its own
            cols = gp("nuslerp_row_wise", False) in (True, "true") and v0.ndim >= 2
            if cols:  # mergekit: dims 0 and -1 swapped, so each vector runs along the first dimension (W[:,j])
                v0, v1 = np.swapaxes(v0, 0, -1), np.swapaxes(v1, 0, -1)
            r0, r1 = v0.reshape(-1, v0.shape[-1]), v1.reshape(-1, v1.shape[-1])
            res = np.stack([slerp(r0[i], r1[i]) for i in range(r0.shape[0])]).reshape(v0.shape)
            return b + (np.swapaxes(res, 0, -1) if cols else res)
        return b + slerp(v0, v1)
    if method == "karcher":  # mergekit's karcher.py, in float64 on whole tensors; the base is an input
        refs = [m["model"] for m in recipe["models"]]
        if recipe.get("base_model") and recipe["base_model"] not in refs:
            refs = [recipe["base_model"]] + refs
        xs = [(base if r == recipe.get("base_model") else models[r])[name].astype(np.float64) for r in refs]
        max_iter, tol = int(gp("max_iter", 10)), float(gp("tol", 1e-5))
        if len(xs) == 1:
            return xs[0]
        norms = [float(np.linalg.norm(x)) for x in xs]
        valid = [i for i, nv in enumerate(norms) if nv > tol]
        if not valid:
            return np.zeros_like(xs[0])
        al = 1.0 / len(valid)
        us = [xs[i] / norms[i] for i in valid]
        u = sum(al * v for v in us)
        un = np.linalg.norm(u)
        u = us[0].copy() if un < tol else u / un
        for _ in range(max_iter):
            tan = np.zeros_like(u)
            for v in us:
                d = float(np.clip((u * v).sum(), -1, 1))
                th = math.acos(d)
                if th < tol:
                    continue
                tan += al * (th / math.sin(th)) * (v - d * u)
            tn = np.linalg.norm(tan)
            if tn < tol:
                break
            u = math.cos(tn) * u + math.sin(tn) * tan / tn
            nn = np.linalg.norm(u)
            if nn > tol:
                u = u / nn
        return sum(norms) / len(xs) * u
    if method == "sce":  # mergekit's sce.py with select_topk 1: mean-square weights, unweighted sign consensus
        b = base[name].astype(np.float64)
        tv = np.stack([models[m["model"]][name].astype(np.float64) - b for m in recipe["models"] if m["model"] != recipe["base_model"]])
        topk = float(gp("select_topk", 1.0))
        if topk < 1:  # mergekit's sce_mask: the floor(nnz(var) * select_topk) positions of largest population variance
            mean = np.zeros_like(b)
            for x in tv:
                mean = mean + x
            mean = mean / len(tv)
            q = np.zeros_like(b)
            for x in tv:
                q = q + (x - mean) * (x - mean)
            var = np.where((tv == tv[0]).all(0), 0.0, q / len(tv)).reshape(-1)
            k = int(np.count_nonzero(var) * topk)
            keep = np.zeros(var.size, dtype=bool)
            keep[np.lexsort((np.arange(var.size), -var))[:k]] = True  # ties by index, as the job
            tv = tv * keep.reshape(b.shape)
        w = (tv ** 2).reshape(len(tv), -1).mean(1)
        w = np.full(len(tv), 1.0 / len(tv)) if abs(w.sum()) < 1e-6 else w / w.sum()
        sign = np.where(tv.sum(0) >= 0, 1.0, -1.0)
        ew = w.reshape((-1,) + (1,) * b.ndim) * (np.sign(tv) == sign)
        return b + (tv * ew).sum(0) / np.maximum(ew.sum(0), 1e-6)
    entries = [m for m in recipe["models"] if method == "linear" or m["model"] != recipe.get("base_model")]
    ps = []
    for m in entries:
        mp = m.get("parameters") or {}
        p = {}
        for key in ("weight", "density", "gamma", "epsilon"):
            v = resolve(mp.get(key), name, t)
            if v is None:
                v = resolve(top.get(key), name, t)
            if v is not None:
                p[key] = float(v)
        p["rescale"] = bool(gp("rescale", glob_p.get("rescale", True)))
        ps.append(p)
    normalize = bool(gp("normalize", glob_p["normalize"]))
    lam = float(gp("lambda", 1.0))
    w = np.array([p["weight"] for p in ps])
    xs = [models[m["model"]][name].astype(np.float64) for m in entries]
    if method == "linear":
        s = sum(wi * x for wi, x in zip(w, xs))
        return s / w.sum() if normalize else s
    b = base[name].astype(np.float64)
    D = np.stack([wi * sparsify(method, x - b, p, None if masks is None else masks(name, i))
                  for i, (wi, x, p) in enumerate(zip(w, xs, ps))])
    W = w.reshape((-1,) + (1,) * b.ndim) * np.ones_like(D)
    if method in ("ties", "dare_ties", "breadcrumbs_ties", "della"):
        sign = np.where(D.sum(0) >= 0, 1.0, -1.0)
        M = np.sign(D) == sign
        mix = (D * M).sum(0)
        div = (W * M).sum(0)
        div[div == 0] = 1
    else:
        mix = D.sum(0)
        div = W.sum(0)
        div[np.abs(div) < 1e-8] = 1
    if normalize:
        mix = mix / div
    return b + lam * mix


def peft_reference(recipe, base, models, name, masks):
    """The same merge through peft.utils.merge_utils, where PEFT has the method with the same semantics."""
    from peft.utils import merge_utils as mu
    method = recipe["merge_method"]
    entries = [m for m in recipe["models"] if m["model"] != recipe.get("base_model")]
    b = torch.from_numpy(base[name].astype(np.float64))
    taus = [torch.from_numpy(models[m["model"]][name].astype(np.float64)) - b for m in entries]
    w = torch.tensor([float(m["parameters"]["weight"]) for m in entries], dtype=torch.float64)
    d = float((recipe.get("parameters") or {}).get("density", entries[0]["parameters"].get("density", 1.0)))
    if method == "task_arithmetic":
        return (b + mu.task_arithmetic(taus, w)).numpy()
    if method == "ties":
        return (b + mu.ties(taus, w, d, "total")).numpy()
    if method == "breadcrumbs":  # gamma = 0: keep the top density of |τ|, PEFT's magnitude_prune
        return (b + mu.magnitude_prune(taus, w, d)).numpy()
    if method == "dare_linear":
        out = torch.zeros_like(b)
        real = torch.bernoulli
        for i, (tau, wi) in enumerate(zip(taus, w)):
            m = torch.from_numpy(masks(name, i).astype(np.float64))
            torch.bernoulli = lambda p, m=m: m
            try:
                pruned = mu.dare_linear([tau], torch.ones(1, dtype=torch.float64), d)  # m⊙τ/d
            finally:
                torch.bernoulli = real
            kept = (tau * m).abs().sum()
            # mergekit's rescale is L1 (‖τ‖₁/‖m⊙τ‖₁), PEFT's 1/d: convert PEFT's result by d·‖τ‖₁/‖m⊙τ‖₁
            out += wi * pruned * (d * tau.abs().sum() / kept)
        return (b + out).numpy()
    return None


def check_all(a):
    print(json.dumps([check(argparse.Namespace(out=c["out"], recipe=c["recipe"], peft=c.get("peft", False), masks=c.get("masks"),
                                              uniforms=c.get("uniforms"), load=c.get("load", False))) for c in json.load(open(a.cases))]))


def check(a):
    recipe = yaml.safe_load(open(a.recipe))
    if "slices" in recipe:  # one full-range slice is the same merge as models:
        recipe["models"] = [{"model": s["model"], "parameters": s.get("parameters") or {}} for s in recipe["slices"][0]["sources"]]
    def load(d):  # through torch: numpy has no bfloat16
        return {k: (v.double() if v.is_floating_point() else v).numpy() for k, v in tensors(d, "torch").items()}
    base = load(recipe["base_model"]) if recipe.get("base_model") else None
    models = {m["model"]: load(m["model"]) for m in recipe["models"]}
    out = load(a.out)
    out_dtype = str(next(iter(tensors(a.out, "torch").values())).dtype).replace("torch.", "")
    ref_names = base if base is not None else models[recipe["models"][0]["model"]]
    layers = 1 + max(int(m.group(1)) for n in ref_names for m in [re.match(r"model\.layers\.(\d+)\.", n)] if m)
    masks = None
    if a.masks:
        def masks(name, i):
            return np.fromfile(os.path.join(a.masks, "%s.%d" % (name, i)), dtype=np.uint8).astype(bool).reshape(ref_names[name].shape)
    if a.uniforms:
        def masks(name, i):
            return np.fromfile(os.path.join(a.uniforms, "%s.%d" % (name, i)), dtype="<f8").reshape(ref_names[name].shape)
    DELLA_ROWS[0] = 0
    worst, worst_peft, checked, worst_ulp = 0.0, None, 0, 0.0
    for name, v in ref_names.items():
        if not np.issubdtype(np.asarray(v).dtype, np.floating):
            continue
        r = reference(recipe, base, models, name, layers, masks)
        got = out[name].astype(np.float64)
        scale = max(1e-30, np.abs(r).max())
        worst = max(worst, float(np.abs(got - r).max() / scale))
        # bfloat16 rounds to nearest: |got − ref| ≤ 2^-8 |ref| (half an ulp), unless an element was kept or dropped wrongly
        worst_ulp = max(worst_ulp, float((np.abs(got - r) / np.maximum(np.abs(r) * 2.0 ** -8, 1e-30)).max()))
        if a.peft:
            p = peft_reference(recipe, base, models, name, masks)
            e = float(np.abs(got - p).max() / scale)
            worst_peft = e if worst_peft is None else max(worst_peft, e)
        checked += 1
    res = {"tensors": checked, "della_rows": DELLA_ROWS[0], "max_rel_err": worst, "max_err_in_half_ulps_bf16": worst_ulp, "max_rel_err_peft": worst_peft, "out_dtype": out_dtype}
    if a.load:
        from transformers import AutoModelForCausalLM
        m, info = AutoModelForCausalLM.from_pretrained(a.out, output_loading_info=True)
        with torch.no_grad():
            logits = m(torch.tensor([[1, 2, 3, 4]])).logits
        res["missing_keys"] = list(info["missing_keys"]) + list(info["unexpected_keys"])
        res["logits_finite"] = bool(torch.isfinite(logits).all())
    return res


def stack(a):
    """passthrough over slices, from mergekit's rule: layers renumbered in slice order, embeddings from the first
    slice's model, everything else outside the blocks from the last slice's; scale by a filter on the source name."""
    recipe = yaml.safe_load(open(a.recipe))
    def load(d):
        return {k: v.double().numpy() for k, v in tensors(d, "torch").items()}
    srcs = [s["sources"][0] for s in recipe["slices"]]
    models = {s["model"]: load(s["model"]) for s in srcs}
    expected, k = {}, 0
    def scale(s, name):
        v = (s.get("parameters") or {}).get("scale", 1.0)
        if isinstance(v, list):
            for f in v:
                if f.get("filter") in (None, "*") or f["filter"] in name:
                    return float(f["value"])
            return 1.0
        return float(v)
    for s in srcs:
        lo, hi = s["layer_range"]
        for name, x in models[s["model"]].items():
            m = re.match(r"model\.layers\.(\d+)\.(.*)", name)
            if m and lo <= int(m.group(1)) < hi:
                expected["model.layers.%d.%s" % (k + int(m.group(1)) - lo, m.group(2))] = scale(s, name) * x
        k += hi - lo
    for name, x in models[srcs[0]["model"]].items():
        if not name.startswith("model.layers.") and "embed" in name:
            expected[name] = scale(srcs[0], name) * x
    for name, x in models[srcs[-1]["model"]].items():
        if not name.startswith("model.layers.") and "embed" not in name:
            expected[name] = scale(srcs[-1], name) * x
    out = load(a.out)
    worst = max(float(np.abs(out[n] - x).max()) for n, x in expected.items())
    from transformers import AutoModelForCausalLM
    m, info = AutoModelForCausalLM.from_pretrained(a.out, output_loading_info=True)
    with torch.no_grad():
        logits = m(torch.tensor([[1, 2, 3, 4]])).logits
    print(json.dumps({"expected_tensors": len(expected), "written_tensors": len(out), "same_names": sorted(expected) == sorted(out),
                      "max_abs_diff": worst, "layers": m.config.num_hidden_layers,
                      "missing_keys": list(info["missing_keys"]) + list(info["unexpected_keys"]), "logits_finite": bool(torch.isfinite(logits).all())}))


ap = argparse.ArgumentParser()
sub = ap.add_subparsers(dest="cmd", required=True)
mk = sub.add_parser("make")
mk.add_argument("dir"); mk.add_argument("k", type=int)
mk.add_argument("--bad", action="store_true")
mk.add_argument("--dtype", default="float32")
ck = sub.add_parser("check")
ck.add_argument("cases")
st = sub.add_parser("stack")
st.add_argument("recipe"); st.add_argument("out")
a = ap.parse_args()
make(a) if a.cmd == "make" else stack(a) if a.cmd == "stack" else check_all(a)
