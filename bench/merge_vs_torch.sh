#!/usr/bin/env bash
# Benchmark: `weightlab merge` (TIES and DARE-TIES, 3 fine-tunes of a base) against the loop mergekit runs (one tensor at
# a time, lazy safetensors loading, torch on the CPU: bench/torch_merge.py), same machine, same run: wall time and peak
# resident memory (GNU time), and how far the two TIES outputs are apart.
#   bench/merge_vs_torch.sh [PRESET=llama-1b] [K=3] [DRIVER_MEMORY=2g]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PRESET="${1:-llama-1b}"; K="${2:-3}"; MEM="${3:-2g}"
PY="${WEIGHTLAB_PYTHON:-python3}"
DATA="$ROOT/bench/data/merge-$PRESET"; OUT="$ROOT/bench/out/merge-$PRESET"
mkdir -p "$DATA" "$OUT"
[[ -f "$DATA/base/config.json" ]] || "$ROOT/submit-scripts/weightlab" synth --preset "$PRESET" --dtype BF16 --seed 1 --out "$DATA/base" > /dev/null
"$PY" "$ROOT/bench/make_finetunes.py" "$DATA/base" "$DATA/ft" "$K" > /dev/null
FTS=(); W=(); for ((i = 0; i < K; i++)); do FTS+=("$DATA/ft$i"); W+=("1"); done
WEIGHTS=$(IFS=,; echo "${W[*]}")
results="$OUT/results.jsonl"; : > "$results"
for method in ties dare_ties; do
  {
    echo "merge_method: $method"; echo "base_model: $DATA/base"; echo "models:"
    for f in "${FTS[@]}"; do echo "  - model: $f"; echo "    parameters: {weight: 1, density: 0.5}"; done
  } > "$OUT/$method.yaml"
  cat "$DATA"/base/*.safetensors "$DATA"/ft*/*.safetensors > /dev/null   # same page-cache state for both tools
  rm -rf "$OUT/wl-$method"
  /usr/bin/time -v -o "$OUT/wl-$method.time" env WEIGHTLAB_DRIVER_MEMORY="$MEM" "$ROOT/submit-scripts/weightlab" merge \
      --config "$OUT/$method.yaml" --out "$OUT/wl-$method" > "$OUT/wl-$method.log" 2>&1
  echo "{\"tool\": \"weightlab-$method\", \"wall\": \"$(awk -F': ' '/Elapsed \(wall/ {print $2}' "$OUT/wl-$method.time")\", \"peak_rss_mb\": $(awk -F': ' '/Maximum resident/ {print $2/1024}' "$OUT/wl-$method.time"), \"driver_memory\": \"$MEM\"}" >> "$results"
  cat "$DATA"/base/*.safetensors "$DATA"/ft*/*.safetensors > /dev/null
  rm -rf "$OUT/torch-$method"
  /usr/bin/time -v -o "$OUT/torch-$method.time" "$PY" "$ROOT/bench/torch_merge.py" "$method" "$DATA/base" "$OUT/torch-$method" 0.5 "$WEIGHTS" "${FTS[@]}" > "$OUT/torch-$method.json"
  echo "{\"tool\": \"torch-$method\", \"wall\": \"$(awk -F': ' '/Elapsed \(wall/ {print $2}' "$OUT/torch-$method.time")\", \"peak_rss_mb\": $(awk -F': ' '/Maximum resident/ {print $2/1024}' "$OUT/torch-$method.time")}" >> "$results"
done
# TIES is deterministic in both: compare the outputs (bf16; top-k ties at the threshold are broken differently)
"$PY" - "$OUT/wl-ties" "$OUT/torch-ties" >> "$results" <<'PYEOF'
import glob, json, os, sys, torch
from safetensors import safe_open
def tensors(d):
    out = {}
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        h = safe_open(f, "pt"); out.update({n: (h, n) for n in h.keys()})
    return out
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
n = diff = 0; worst = 0.0
for name, (h, k) in a.items():
    x = h.get_tensor(k).float(); y = b[name][0].get_tensor(name).float()
    d = (x - y).abs()
    ulp = torch.maximum(y.abs(), x.abs()) * 2.0 ** -7
    diff += int((d > ulp).sum()); n += x.numel(); worst = max(worst, float(d.max() / max(float(y.abs().max()), 1e-30)))
print(json.dumps({"ties_outputs": "weightlab vs torch", "elements": n, "more_than_one_bf16_ulp_apart": diff, "fraction": diff / n, "max_rel_diff": worst}))
PYEOF
# The same TIES with ties at the top-k threshold broken by index (a stable sort), in float64, on layer 0's tensors:
# where the two tools differ above, it is the tie-breaking (bf16 deltas take few distinct values), not the arithmetic.
"$PY" - "$OUT/wl-ties" "$DATA/base" "${FTS[@]}" >> "$results" <<'PYEOF'
import glob, json, os, sys, torch
from safetensors import safe_open
def tensors(d):
    out = {}
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        h = safe_open(f, "pt"); out.update({n: h for n in h.keys()})
    return out
wl, base, fts = tensors(sys.argv[1]), tensors(sys.argv[2]), [tensors(d) for d in sys.argv[3:]]
n = diff = 0
for name, h in base.items():
    if ".layers.0." not in name:
        continue
    b = h.get_tensor(name).double()
    ds = []
    for f in fts:
        tau = f[name].get_tensor(name).double() - b
        k = int(0.5 * tau.numel())
        order = torch.sort(tau.abs().view(-1), descending=True, stable=True).indices[:k]
        m = torch.zeros(tau.numel(), dtype=torch.double); m[order] = 1
        ds.append(tau * m.view(tau.shape))
    d = torch.stack(ds)
    sign = (d.sum(0) >= 0).double() * 2 - 1
    mask = d.sign() == sign
    div = mask.double().sum(0); div[div == 0] = 1
    ref = (b + (d * mask).sum(0) / div).to(torch.bfloat16).double()
    got = wl[name].get_tensor(name).double()
    diff += int(((got - ref).abs() > torch.maximum(ref.abs(), got.abs()) * 2.0 ** -7).sum()); n += got.numel()
print(json.dumps({"ties_layer0": "weightlab vs torch with index tie-breaking, float64", "elements": n, "more_than_one_bf16_ulp_apart": diff}))
PYEOF
cat "$results"
