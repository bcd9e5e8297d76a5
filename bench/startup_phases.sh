#!/usr/bin/env bash
# Where a job's fixed cost goes: runs `weightlab JOB` RUNS times (default 3) on a checkpoint with Spark's event log on,
# and splits each wall time into phases (bench/startup_phases.py); prints each run and the median of each phase.
#   bench/startup_phases.sh JOB [CHECKPOINT] [RUNS] [-- extra job options]
#   e.g. bench/startup_phases.sh stats;  bench/startup_phases.sh spectrum "" 3 -- --include embeddings
# Default checkpoint: the all-MiniLM-L6-v2 fixture. WEIGHTLAB_CDS=0 measures without the class-data archive.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOB="$1"; CKPT="${2:-}"; RUNS="${3:-3}"
[[ -n "$CKPT" ]] || CKPT="$ROOT/../shared/fixtures/all-minilm-l6-v2"
shift $(( $# < 3 ? $# : 3 )); [[ "${1:-}" == -- ]] && shift
PY="${WEIGHTLAB_PYTHON:-python3}"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
# a first run records the class-data archive if the build is new; it is not measured
"$ROOT/submit-scripts/weightlab" "$JOB" "$CKPT" --out "$WORK/out" --overwrite --master 'local[2]' "$@" > /dev/null 2>&1
echo "[bench] $(uptime)"
for i in $(seq "$RUNS"); do
  rm -rf "$WORK/events"; mkdir -p "$WORK/events"
  t0=$(date +%s.%N)
  WEIGHTLAB_SPARK_ARGS="--conf spark.eventLog.enabled=true --conf spark.eventLog.compress=false --conf spark.eventLog.dir=file://$WORK/events" \
    "$ROOT/submit-scripts/weightlab" "$JOB" "$CKPT" --out "$WORK/out" --overwrite --master 'local[2]' "$@" > "$WORK/log" 2>&1 \
    || { cat "$WORK/log" >&2; exit 1; }
  t1=$(date +%s.%N)
  "$PY" "$ROOT/bench/startup_phases.py" "$WORK"/events/* "$t0" "$t1" | tee -a "$WORK/runs.jsonl"
done
"$PY" - "$WORK/runs.jsonl" "$JOB" <<'PYEOF'
import json, sys, statistics
runs = [json.loads(l) for l in open(sys.argv[1])]
keys = ["wall_s", "jvm_to_context_s", "context_to_first_task_s", "tasks_s", "last_task_to_app_end_s", "app_end_to_exit_s", "overhead_s", "sql_jobs"]
med = {k: statistics.median(r[k] for r in runs) for k in keys}
print("median", json.dumps(med))
print(f"| {sys.argv[2]} | " + " | ".join(f"{med[k]:.2f}" for k in keys[:-1]) + f" | {med['sql_jobs']:.0f} |")
PYEOF
