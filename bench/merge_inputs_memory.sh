#!/usr/bin/env bash
# Benchmark: does `weightlab merge` memory grow with the number of input models? DARE-TIES of N models onto a base for
# each N in NS, at one driver heap and the default --memory-budget: wall time and peak resident memory (GNU time).
# The fine-tunes are bench/make_finetunes.py's (base + seeded noise); N above their count lists each several times
# (every listing is read on its own, exactly as N distinct models are: same reads, same buffers, same arithmetic).
#   bench/merge_inputs_memory.sh [PRESET=llama-1b] [NS="3 12"] [DRIVER_MEMORY=2g] [FINETUNES=3]
# WEIGHTLAB_MERGE_BUDGET sets --memory-budget (default 256MiB: (N + 2) slices of min(2^20, budget / 8(N + 3)) doubles per
# task, so below N = 29 the slice is capped at 2^20 elements and a task holds less than the budget, more for more N).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PRESET="${1:-llama-1b}"; NS="${2:-3 12}"; MEM="${3:-2g}"; K="${4:-3}"
PY="${WEIGHTLAB_PYTHON:-python3}"
DATA="$ROOT/bench/data/merge-$PRESET"; OUT="$ROOT/bench/out/merge-inputs-$PRESET"
mkdir -p "$DATA" "$OUT"
[[ -f "$DATA/base/config.json" ]] || "$ROOT/submit-scripts/weightlab" synth --preset "$PRESET" --dtype BF16 --seed 1 --out "$DATA/base" > /dev/null
"$PY" "$ROOT/bench/make_finetunes.py" "$DATA/base" "$DATA/ft" "$K" > /dev/null
results="$OUT/results.jsonl"; : > "$results"
for n in $NS; do
  {
    echo "merge_method: dare_ties"; echo "base_model: $DATA/base"; echo "models:"
    for ((i = 0; i < n; i++)); do echo "  - model: $DATA/ft$((i % K))"; echo "    parameters: {weight: 1, density: 0.5}"; done
  } > "$OUT/n$n.yaml"
  cat "$DATA"/base/*.safetensors "$DATA"/ft*/*.safetensors > /dev/null 2>&1 || true
  rm -rf "$OUT/wl-n$n"
  /usr/bin/time -v -o "$OUT/wl-n$n.time" env WEIGHTLAB_DRIVER_MEMORY="$MEM" "$ROOT/submit-scripts/weightlab" merge \
      --config "$OUT/n$n.yaml" --out "$OUT/wl-n$n" --memory-budget "${WEIGHTLAB_MERGE_BUDGET:-256MiB}" > "$OUT/wl-n$n.log" 2>&1
  echo "{\"inputs\": $n, \"wall\": \"$(awk -F': ' '/Elapsed \(wall/ {print $2}' "$OUT/wl-n$n.time")\", \"peak_rss_mb\": $(awk -F': ' '/Maximum resident/ {print $2/1024}' "$OUT/wl-n$n.time"), \"driver_memory\": \"$MEM\", \"memory_budget\": \"${WEIGHTLAB_MERGE_BUDGET:-256MiB}\", \"bytes_out\": $(du -sb "$OUT/wl-n$n" | cut -f1)}" >> "$results"
  rm -rf "$OUT/wl-n$n"   # the output is as large as the base
done
cat "$results"
