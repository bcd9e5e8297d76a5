#!/usr/bin/env bash
# Benchmark: `weightlab spectrum` (all singular values of every matrix, exact) against a numpy svd loop on the
# same checkpoint, same machine, same run.   bench/spectrum_vs_numpy.sh [CHECKPOINT] [MASTER]
# Default checkpoint: the all-MiniLM-L6-v2 fixture (36 projections + 3 embeddings, the 30522 x 384 one included).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CKPT="${1:-$ROOT/../shared/fixtures/all-minilm-l6-v2}"
MASTER="${2:-local[2]}"
OUT="$ROOT/bench/out"
PY="${WEIGHTLAB_PYTHON:-python3}"
mkdir -p "$OUT"
"$PY" -c "import numpy, ml_dtypes" 2>/dev/null || "$PY" -m pip install -q numpy ml_dtypes
cat "$CKPT"/*.safetensors > /dev/null 2>&1 || true
echo "[bench] numpy svd loop"
"$PY" "$ROOT/bench/numpy_spectrum.py" "$CKPT" --skip embeddings.position_ids > "$OUT/numpy_spectrum.json"
WALLS=""; JOBS=""
for i in 1 2 3; do
  echo "[bench] weightlab spectrum (run $i of 3)"
  t0=$(date +%s.%N)
  "$ROOT/submit-scripts/weightlab" spectrum "$CKPT" --include embeddings --out "$OUT/weightlab-spectrum" --overwrite --master "$MASTER" > "$OUT/weightlab-spectrum.log" 2>&1
  t1=$(date +%s.%N)
  WALLS="$WALLS $("$PY" -c "print($t1 - $t0)")"
  JOBS="$JOBS $(grep -oE 'matrices in [0-9.]+ s' "$OUT/weightlab-spectrum.log" | grep -oE '[0-9.]+ s' | tr -d ' s')"
done
"$PY" - "$OUT" "$WALLS" "$JOBS" <<'PYEOF'
import json, sys, os, statistics
out = sys.argv[1]
walls = sorted(float(x) for x in sys.argv[2].split()); jobs = sorted(float(x) for x in sys.argv[3].split())
np_run = json.load(open(os.path.join(out, "numpy_spectrum.json")))
svs = json.load(open(os.path.join(out, "weightlab-spectrum", "singular_values.json")))
worst = max(abs(sum(svs[k]) - v) / v for k, v in np_run["sv_sums"].items())
res = {"numpy_s": np_run["seconds"], "matrices": np_run["matrices"], "weightlab_job_s_runs": jobs, "weightlab_wall_s_runs": walls,
       "speedup_job_median": np_run["seconds"] / statistics.median(jobs), "max_rel_diff_sum_sv": worst}
print(json.dumps(res, indent=2))
print(f"| {np_run['matrices']} matrices | numpy {np_run['seconds']:.2f} s | WeightLab job {jobs[0]:.2f} / {statistics.median(jobs):.2f} s | wall {walls[0]:.1f} / {statistics.median(walls):.1f} s | {res['speedup_job_median']:.2f}x | {worst:.1e} |")
PYEOF
