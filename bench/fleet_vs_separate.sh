#!/usr/bin/env bash
# Benchmark (issue 18): `stats` or `spectrum` over a fleet of checkpoints in one job, against one `weightlab JOB`
# invocation per checkpoint and against the numpy loop a user would write (bench/numpy_stats.py or
# bench/numpy_spectrum.py per checkpoint, one Python process for all), same machine, same run: wall time,
# checkpoints/min, GB/s and the fleet driver's peak RSS.
#   bench/fleet_vs_separate.sh [N=50] [DRIVER_MEMORY=2g] [DATA_DIR] [JOB=stats]
# Environment for spectrum: SPECTRUM_OPTS (default "--include embeddings"), NUMPY_ARGS (e.g. "--skip NAME").
# Without DATA_DIR the fleet is N MiniLM-sized checkpoints (the fixture plus seeded noise,
# jobs/src/test/python/fed_check.py make); with it, every sub-directory of DATA_DIR is one checkpoint (e.g. the
# merge bench's 1B-shape base and fine-tunes). stats runs with the GG fit off in every tool (numpy's loop has none).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-50}"; MEM="${2:-2g}"; DATA="${3:-}"; JOB="${4:-stats}"
PY="${WEIGHTLAB_PYTHON:-python3}"
FIX="$ROOT/../shared/fixtures/all-minilm-l6-v2"
if [[ -z "$DATA" ]]; then
  DATA="$ROOT/bench/data/fleet-$N"
  [[ -f "$DATA/c$((N - 1))/model.safetensors" ]] || "$PY" "$ROOT/jobs/src/test/python/fed_check.py" make "$FIX" "$DATA" "$N" > /dev/null
fi
CKPTS=("$DATA"/*/)
N=${#CKPTS[@]}
OUT="$ROOT/bench/out/fleet-$(basename "$DATA")-$JOB"
mkdir -p "$OUT"
case "$JOB" in
  stats) OPTS=(--gg-fit none); NUMPY="$ROOT/bench/numpy_stats.py" ;;
  # the same matrices on both sides: spectrum leaves embeddings out unless --include says so, numpy_spectrum.py
  # takes every 2-D float tensor (SPECTRUM_OPTS="" NUMPY_ARGS="--skip NAME" for the other way round)
  spectrum) read -r -a OPTS <<< "${SPECTRUM_OPTS---include embeddings}"; NUMPY="$ROOT/bench/numpy_spectrum.py" ;;
  *) echo "JOB must be stats or spectrum" >&2; exit 2 ;;
esac
BYTES=$(cat "$DATA"/*/*.safetensors | wc -c)
results="$OUT/results.jsonl"; : > "$results"
row() { # tool, time file
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall/ {split($2, t, ":"); s = 0; for (i = 1; i in t; i++) s = s * 60 + t[i]; print s}' "$2")
  rss=$(awk -F': ' '/Maximum resident/ {print $2/1024}' "$2")
  echo "{\"tool\": \"$1\", \"job\": \"$JOB\", \"checkpoints\": $N, \"bytes\": $BYTES, \"wall_s\": $wall, \"checkpoints_per_min\": $("$PY" -c "print(round($N * 60 / $wall, 1))"), \"gb_per_s\": $("$PY" -c "print(round($BYTES / $wall / 1e9, 3))"), \"peak_rss_mb\": $rss}" >> "$results"
}
cat "$DATA"/*/*.safetensors > /dev/null
rm -rf "$OUT/fleet"
/usr/bin/time -v -o "$OUT/fleet.time" env WEIGHTLAB_DRIVER_MEMORY="$MEM" "$ROOT/submit-scripts/weightlab" "$JOB" --fleet "$DATA/*" \
    --out "$OUT/fleet" "${OPTS[@]}" > "$OUT/fleet.log" 2>&1
row "weightlab-fleet (one job)" "$OUT/fleet.time"
rm -rf "$OUT/separate"; mkdir -p "$OUT/separate"
/usr/bin/time -v -o "$OUT/separate.time" bash -c "for c in \"$DATA\"/*/; do c=\${c%/}; WEIGHTLAB_DRIVER_MEMORY=$MEM \"$ROOT/submit-scripts/weightlab\" $JOB \"\$c\" \
    --out \"$OUT/separate/\$(basename \"\$c\")\" ${OPTS[*]:-} > /dev/null 2>&1 || exit 1; done"
row "weightlab x $N invocations" "$OUT/separate.time"
read -r -a NUMPY_EXTRA <<< "${NUMPY_ARGS:-}"
/usr/bin/time -v -o "$OUT/numpy.time" "$PY" - "$NUMPY" "$DATA" "${NUMPY_EXTRA[@]}" <<'PYEOF' > /dev/null
import glob, runpy, sys
script, data, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
for c in sorted(glob.glob(data + "/*/")):
    sys.argv = [script, c.rstrip("/")] + extra
    runpy.run_path(script, run_name="__main__")
PYEOF
row "numpy loop (one process)" "$OUT/numpy.time"
cat "$results"
