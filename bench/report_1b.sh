#!/usr/bin/env bash
# The reports of a 1B-shape checkpoint: stats and full spectra of MODEL (default: the merge bench's Llama-3.2-1B-shaped
# base, bench/make_finetunes.py), one combined page from both, the size of each page, and full-page screenshots taken
# by headless chromium after the page has drawn (docs/report-*-1b.png).   bench/report_1b.sh [MODEL] [MASTER]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL="${1:-$ROOT/bench/data/merge-llama-1b/base}"
MASTER="${2:-local[2]}"
OUT="$ROOT/bench/out/report-1b"
WL="$ROOT/submit-scripts/weightlab"
mkdir -p "$OUT"
"$WL" stats "$MODEL" --out "$OUT/stats" --overwrite --master "$MASTER" > "$OUT/stats.log" 2>&1
"$WL" spectrum "$MODEL" --out "$OUT/spectrum" --overwrite --master "$MASTER" > "$OUT/spectrum.log" 2>&1
"$WL" report --stats "$OUT/stats" --spectrum "$OUT/spectrum" --out "$OUT/combined" --overwrite > "$OUT/report.log" 2>&1
for page in stats/report.html spectrum/report.html combined/report.html; do
  printf '%-22s %8.2f MB\n' "$page" "$(stat -c %s "$OUT/$page" | awk '{print $1 / 1e6}')"
done | tee "$OUT/sizes.txt"
shot() { # page, png: a tall window so the whole page is drawn; virtual time lets the charts render first
  chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,"$3" --virtual-time-budget=15000 \
    --screenshot="$2" "file://$1" > /dev/null 2>&1
}
shot "$OUT/stats/report.html" "$ROOT/docs/report-stats-1b.png" 5200
shot "$OUT/spectrum/report.html" "$ROOT/docs/report-spectrum-1b.png" 5200
ls -la "$ROOT"/docs/report-*-1b.png
