#!/usr/bin/env bash
# Benchmark: `weightlab stats` against the numpy loop a user would write, and against reading the same bytes
# from the page cache (dd), on the same machine in the same run.
#   bench/stats_vs_numpy.sh [CHECKPOINT_DIR] [--master local[2]]
# Without CHECKPOINT_DIR it generates a LLaMA-shaped 4.4 GB BF16 checkpoint (bench/data/llama-4g) first.
# Prints a JSON summary and a Markdown row for BENCHMARKS.md; leaves the details in bench/out/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CKPT="${1:-$ROOT/bench/data/llama-4g}"
MASTER="${2:-local[2]}"
OUT="$ROOT/bench/out"
mkdir -p "$OUT"
PY="${WEIGHTLAB_PYTHON:-python3}"
"$PY" -c "import numpy, ml_dtypes, safetensors" 2>/dev/null || "$PY" -m pip install -q numpy ml_dtypes safetensors

if [[ ! -f "$CKPT/model.safetensors.index.json" && ! -f "$CKPT/model.safetensors" ]]; then
  echo "[bench] generating $CKPT"
  "$PY" "$ROOT/bench/make_bf16_checkpoint.py" "$CKPT" --hidden 3072 --intermediate 8192 --layers 20 --heads 24 --shard-gb 2
fi
BYTES=$(cat "$CKPT"/*.safetensors | wc -c)

echo "[bench] warming the page cache"
cat "$CKPT"/*.safetensors > /dev/null
t0=$(date +%s.%N); for f in "$CKPT"/*.safetensors; do dd if="$f" of=/dev/null bs=16M status=none; done; t1=$(date +%s.%N)
DD_S=$("$PY" -c "print($t1 - $t0)")

echo "[bench] numpy (with quantiles)"
"$PY" "$ROOT/bench/numpy_stats.py" "$CKPT" > "$OUT/numpy_stats.json"
# Three WeightLab runs: this kind of machine is shared and noisy, so the report gives the best and the median.
WL_WALLS=""
WL_JOBS=""
for i in 1 2 3; do
  echo "[bench] weightlab stats --master $MASTER (run $i of 3)"
  t0=$(date +%s.%N)
  "$ROOT/submit-scripts/weightlab" stats "$CKPT" --out "$OUT/weightlab-stats" --overwrite --master "$MASTER" > "$OUT/weightlab.log" 2>&1
  t1=$(date +%s.%N)
  WL_WALLS="$WL_WALLS $("$PY" -c "print($t1 - $t0)")"
  WL_JOBS="$WL_JOBS $("$PY" -c "import json; print(json.load(open('$OUT/weightlab-stats/stats.json'))['run']['seconds'])")"
done
WL_WALL="$WL_WALLS"

"$PY" - "$OUT" "$BYTES" "$DD_S" "$WL_WALLS" "$WL_JOBS" "$MASTER" <<'PYEOF'
import json, sys, platform, os, datetime, statistics
out, nbytes, dd_s, master = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[6]
walls = sorted(float(x) for x in sys.argv[4].split())
jobs = sorted(float(x) for x in sys.argv[5].split())
np_run = json.load(open(os.path.join(out, "numpy_stats.json")))
wl = json.load(open(os.path.join(out, "weightlab-stats", "stats.json")))
run = wl["run"]
rows = {r["name"]: r for r in wl["rows"] if r["level"] == "tensor"}
worst = 0.0
for name, s in np_run["stats"].items():
    r = rows[name]
    for k in ("mean", "std", "kurtosis_excess", "l2"):
        a, b = s[k], r[k]
        if a is None or b is None:
            continue
        worst = max(worst, abs(a - b) / max(abs(a), 1e-300))
    assert s["min"] == r["min"] and s["max"] == r["max"], name
    assert s["quantiles"] == [r[q] for q in ("q01", "q05", "q25", "q50", "q75", "q95", "q99")] or "quantiles" not in s, name
res = {
    "date": datetime.date.today().isoformat(), "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
    "bytes": nbytes, "dd_page_cache_gb_s": nbytes / dd_s / 1e9, "numpy_s": np_run["seconds"],
    "numpy_gb_s": np_run["gb_per_s"], "weightlab_job_s_runs": jobs, "weightlab_wall_s_runs": walls,
    "weightlab_job_s": jobs[0], "weightlab_job_gb_s": nbytes / jobs[0] / 1e9,
    "weightlab_job_median_s": statistics.median(jobs), "weightlab_wall_s": walls[0],
    "weightlab_wall_median_s": statistics.median(walls), "master": master,
    "speedup_job_vs_numpy": np_run["seconds"] / statistics.median(jobs),
    "speedup_wall_vs_numpy": np_run["seconds"] / statistics.median(walls),
    "max_rel_diff_vs_numpy": worst, "quantiles_identical": True,
}
json.dump(res, open(os.path.join(out, "stats-bench.json"), "w"), indent=2)
print(json.dumps(res, indent=2))
print(f"| {res['date']} | {nbytes/1e9:.2f} GB BF16 | {res['dd_page_cache_gb_s']:.1f} GB/s | {res['numpy_s']:.1f} s ({res['numpy_gb_s']:.2f} GB/s) | "
      f"{jobs[0]:.1f} / {statistics.median(jobs):.1f} s ({nbytes / statistics.median(jobs) / 1e9:.2f} GB/s) | "
      f"{walls[0]:.1f} / {statistics.median(walls):.1f} s | "
      f"{res['speedup_job_vs_numpy']:.1f}x / {res['speedup_wall_vs_numpy']:.1f}x | {worst:.1e} |")
PYEOF
