#!/usr/bin/env bash
# Benchmark (issue 18): `stats` over a fleet of N MiniLM-sized checkpoints in one job, against N separate `weightlab
# stats` invocations and against the numpy loop a user would write (bench/numpy_stats.py per checkpoint, one Python
# process for all), same machine, same run: wall time, checkpoints/min, GB/s and the fleet driver's peak RSS.
# The checkpoints are MiniLM plus seeded noise (jobs/src/test/python/fed_check.py make). GG fit off in every tool
# (numpy's loop has none).   bench/fleet_vs_separate.sh [N=50] [DRIVER_MEMORY=2g]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-50}"; MEM="${2:-2g}"
PY="${WEIGHTLAB_PYTHON:-python3}"
FIX="$ROOT/../shared/fixtures/all-minilm-l6-v2"
DATA="$ROOT/bench/data/fleet-$N"; OUT="$ROOT/bench/out/fleet-$N"
mkdir -p "$OUT"
[[ -f "$DATA/c$((N - 1))/model.safetensors" ]] || "$PY" "$ROOT/jobs/src/test/python/fed_check.py" make "$FIX" "$DATA" "$N" > /dev/null
BYTES=$(cat "$DATA"/c*/model.safetensors | wc -c)
results="$OUT/results.jsonl"; : > "$results"
row() { # tool, time file
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall/ {split($2, t, ":"); s = 0; for (i = 1; i in t; i++) s = s * 60 + t[i]; print s}' "$2")
  rss=$(awk -F': ' '/Maximum resident/ {print $2/1024}' "$2")
  echo "{\"tool\": \"$1\", \"checkpoints\": $N, \"wall_s\": $wall, \"checkpoints_per_min\": $("$PY" -c "print(round($N * 60 / $wall, 1))"), \"gb_per_s\": $("$PY" -c "print(round($BYTES / $wall / 1e9, 3))"), \"peak_rss_mb\": $rss}" >> "$results"
}
cat "$DATA"/c*/model.safetensors > /dev/null
rm -rf "$OUT/fleet"
/usr/bin/time -v -o "$OUT/fleet.time" env WEIGHTLAB_DRIVER_MEMORY="$MEM" "$ROOT/submit-scripts/weightlab" stats --fleet "$DATA/c*" \
    --out "$OUT/fleet" --gg-fit none > "$OUT/fleet.log" 2>&1
row "weightlab-fleet (one job)" "$OUT/fleet.time"
rm -rf "$OUT/separate"; mkdir -p "$OUT/separate"
/usr/bin/time -v -o "$OUT/separate.time" bash -c "for c in \"$DATA\"/c*; do WEIGHTLAB_DRIVER_MEMORY=$MEM \"$ROOT/submit-scripts/weightlab\" stats \"\$c\" \
    --out \"$OUT/separate/\$(basename \"\$c\")\" --gg-fit none > /dev/null 2>&1 || exit 1; done"
row "weightlab x $N invocations" "$OUT/separate.time"
/usr/bin/time -v -o "$OUT/numpy.time" "$PY" - "$ROOT/bench/numpy_stats.py" "$DATA" <<'PYEOF' > /dev/null
import glob, runpy, sys
script, data = sys.argv[1], sys.argv[2]
for c in sorted(glob.glob(data + "/c*")):
    sys.argv = [script, c]
    runpy.run_path(script, run_name="__main__")
PYEOF
row "numpy loop (one process)" "$OUT/numpy.time"
cat "$results"
