#!/usr/bin/env bash
# Every report page on the 1B shape: stats and full spectra of MODEL (default: the merge bench's Llama-3.2-1B-shaped
# base, made with `synth --preset llama-1b` if absent) and one combined page; with two "fine-tunes" of it
# (bench/make_finetunes.py) also before/after (stats of base vs fine-tune), compare (base -> ft0 -> ft1), a TIES merge,
# a FedAvg round of the two as clients, and a fleet page over the three as steps 0/1000/2000. Prints each page's size
# and takes full-page screenshots with headless chromium after the page has drawn (docs/report-*-1b.png).
#   bench/report_1b.sh [MODEL] [MASTER] [all|analysis]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL="${1:-$ROOT/bench/data/merge-llama-1b/base}"
MASTER="${2:-local[2]}"
WHAT="${3:-all}"
PY="${WEIGHTLAB_PYTHON:-python3}"
OUT="$ROOT/bench/out/report-1b"
WL="$ROOT/submit-scripts/weightlab"
mkdir -p "$OUT"
[[ -f "$MODEL/config.json" ]] || "$WL" synth --preset llama-1b --dtype BF16 --out "$MODEL" --master "$MASTER" > "$OUT/synth.log" 2>&1
"$WL" stats "$MODEL" --out "$OUT/stats" --overwrite --master "$MASTER" > "$OUT/stats.log" 2>&1
"$WL" spectrum "$MODEL" --out "$OUT/spectrum" --overwrite --master "$MASTER" > "$OUT/spectrum.log" 2>&1
"$WL" report --stats "$OUT/stats" --spectrum "$OUT/spectrum" --out "$OUT/combined" --overwrite > "$OUT/report.log" 2>&1
PAGES="stats spectrum combined"
if [[ "$WHAT" == all ]]; then
  FT="$(dirname "$MODEL")/ft"
  "$PY" "$ROOT/bench/make_finetunes.py" "$MODEL" "$FT" 2
  "$WL" stats "${FT}0" --out "$OUT/stats-ft0" --overwrite --master "$MASTER" > "$OUT/stats-ft0.log" 2>&1
  "$WL" report --stats "$OUT/stats" --stats "$OUT/stats-ft0" --out "$OUT/before-after" --overwrite > "$OUT/before-after.log" 2>&1
  "$WL" compare "$MODEL" "${FT}0" "${FT}1" --out "$OUT/compare" --overwrite --master "$MASTER" > "$OUT/compare.log" 2>&1
  cat > "$OUT/ties.yaml" <<YAML
merge_method: ties
base_model: $MODEL
models:
  - {model: ${FT}0, parameters: {weight: 1, density: 0.5}}
  - {model: ${FT}1, parameters: {weight: 1, density: 0.5}}
dtype: bfloat16
YAML
  "$WL" merge --config "$OUT/ties.yaml" --out "$OUT/merge" --overwrite --master "$MASTER" > "$OUT/merge.log" 2>&1
  printf 'reference: %s\nclients:\n  - {id: ft0, uri: %s, examples: 3000}\n  - {id: ft1, uri: %s, examples: 1000}\n' \
    "$MODEL" "${FT}0" "${FT}1" > "$OUT/round.yaml"
  "$WL" fedavg "$OUT/round.yaml" --out "$OUT/fedavg" --overwrite --master "$MASTER" > "$OUT/fedavg.log" 2>&1
  rm -rf "$OUT/fleet-in" && mkdir -p "$OUT/fleet-in"
  ln -s "$MODEL" "$OUT/fleet-in/checkpoint-0"; ln -s "${FT}0" "$OUT/fleet-in/checkpoint-1000"; ln -s "${FT}1" "$OUT/fleet-in/checkpoint-2000"
  "$WL" stats --fleet "$OUT/fleet-in/checkpoint-*" --out "$OUT/fleet-ds" --overwrite --master "$MASTER" > "$OUT/fleet-stats.log" 2>&1
  "$WL" report --fleet "$OUT/fleet-ds" --out "$OUT/fleet" --overwrite > "$OUT/fleet.log" 2>&1
  rm -rf "$OUT/merge"/*.safetensors "$OUT/fedavg"/*.safetensors   # the pages stay; the 2.4 GB models are not needed
  PAGES="$PAGES before-after compare merge fedavg fleet"
fi
for page in $(for p in $PAGES; do echo "$p/report.html"; done); do
  printf '%-22s %8.2f MB\n' "$page" "$(stat -c %s "$OUT/$page" | awk '{print $1 / 1e6}')"
done | tee "$OUT/sizes.txt"
shot() { # page, png: a tall window so the whole page is drawn; virtual time lets the charts render first
  chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,"$3" --virtual-time-budget=15000 \
    --screenshot="$2" "file://$1" > /dev/null 2>&1
}
shot "$OUT/stats/report.html" "$ROOT/docs/report-stats-1b.png" 5200
shot "$OUT/spectrum/report.html" "$ROOT/docs/report-spectrum-1b.png" 5200
for p in before-after compare merge fedavg fleet; do
  [[ -f "$OUT/$p/report.html" ]] && shot "$OUT/$p/report.html" "$ROOT/docs/report-$p-1b.png" 3600
done
ls -la "$ROOT"/docs/report-*-1b.png
