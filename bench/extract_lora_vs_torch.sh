#!/usr/bin/env bash
# Benchmark: `weightlab extract-lora` with the full SVD (--method exact) and with the randomized range finder
# (--method randomized, what auto takes on these shapes) against the loop mergekit's extract_lora.py runs (per module
# ΔW in fp32 and torch.linalg.svd, lazily loaded: bench/torch_extract_lora.py), same machine, same run, on a fine-tune
# of the Llama-3.2-1B shape whose projections moved by a rank-64 update with decaying σ plus noise
# (bench/make_lowrank_finetune.py): wall time, peak resident memory (GNU time), and each module's residual energy
# ‖ΔW − BA‖/‖ΔW‖ of the three (the randomized one against the exact optimum).
#   bench/extract_lora_vs_torch.sh [R=16] [DRIVER_MEMORY=2g]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
R="${1:-16}"; MEM="${2:-2g}"
PY="${WEIGHTLAB_PYTHON:-python3}"
BASE="$ROOT/bench/data/merge-llama-1b/base"; FT="$ROOT/bench/data/extract-llama-1b/ft"; OUT="$ROOT/bench/out/extract-lora-1b"
mkdir -p "$OUT" "$(dirname "$FT")"
[[ -f "$BASE/config.json" ]] || "$ROOT/submit-scripts/weightlab" synth --preset llama-1b --dtype BF16 --seed 1 --out "$BASE" > /dev/null
"$PY" "$ROOT/bench/make_lowrank_finetune.py" "$BASE" "$FT" > /dev/null
results="$OUT/results.jsonl"; : > "$results"
wall() { awk -F': ' '/Elapsed \(wall/ {print $2}' "$1"; }
rss() { awk -F': ' '/Maximum resident/ {print $2/1024}' "$1"; }
for method in exact randomized; do
  cat "$BASE"/*.safetensors "$FT"/*.safetensors > /dev/null   # the same page-cache state for every tool
  rm -rf "$OUT/wl-$method"
  /usr/bin/time -v -o "$OUT/wl-$method.time" env WEIGHTLAB_DRIVER_MEMORY="$MEM" "$ROOT/submit-scripts/weightlab" extract-lora "$FT" \
      --base "$BASE" --r "$R" --method "$method" --out "$OUT/wl-$method" > "$OUT/wl-$method.log" 2>&1
  echo "{\"tool\": \"weightlab --method $method\", \"r\": $R, \"wall\": \"$(wall "$OUT/wl-$method.time")\", \"peak_rss_mb\": $(rss "$OUT/wl-$method.time")}" >> "$results"
done
cat "$BASE"/*.safetensors "$FT"/*.safetensors > /dev/null
rm -rf "$OUT/torch"
/usr/bin/time -v -o "$OUT/torch.time" "$PY" "$ROOT/bench/torch_extract_lora.py" "$BASE" "$FT" "$OUT/torch" "$R" > "$OUT/torch.json"
echo "{\"tool\": \"torch loop (mergekit extract_lora)\", \"r\": $R, \"wall\": \"$(wall "$OUT/torch.time")\", \"peak_rss_mb\": $(rss "$OUT/torch.time"), \"svd_seconds\": $("$PY" -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["svd_seconds"], 1))' "$OUT/torch.json")}" >> "$results"
# residual energies: exact vs torch (double vs fp32 SVD), randomized vs exact (the optimum, Eckart–Young)
"$PY" - "$OUT/wl-exact/weightlab_provenance.json" "$OUT/wl-randomized/weightlab_provenance.json" "$OUT/torch.json" >> "$results" <<'PYEOF'
import json, sys
ex = {m["module"]: m for m in json.load(open(sys.argv[1]))["modules"]}
rn = {m["module"]: m for m in json.load(open(sys.argv[2]))["modules"]}
tc = json.load(open(sys.argv[3]))["modules"]
ratio = [rn[k]["residual_energy"] / ex[k]["residual_energy"] for k in ex]
print(json.dumps({"modules": len(ex), "routes": sorted({m["route"] for m in rn.values()}),
                  "residual_energy_exact_median": sorted(m["residual_energy"] for m in ex.values())[len(ex) // 2],
                  "randomized_over_exact_residual_max": max(ratio), "randomized_over_exact_residual_min": min(ratio),
                  "exact_vs_torch_residual_max_abs_diff": max(abs(ex[k]["residual_energy"] - tc[k]) for k in ex)}))
PYEOF
cat "$results"
