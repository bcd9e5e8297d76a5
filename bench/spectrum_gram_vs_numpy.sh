#!/usr/bin/env bash
# Benchmark (issue 20): `weightlab spectrum` full spectra, default route (certified Gram, else dgesdd) and
# --method exact (dgesdd), against the numpy gesdd loop, on all non-embedding matrices, same machine, same run.
#   bench/spectrum_gram_vs_numpy.sh CHECKPOINT_DIR [MASTER] [--skip NAME ...]
# numpy: OpenBLAS on 2 threads; WeightLab: local[2], one OpenBLAS thread per task. Prints per-value agreement of
# every certified matrix with numpy's gesdd (relative), the routes taken, and the times.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CKPT="$1"; MASTER="${2:-local[2]}"; shift; shift || true
OUT="$ROOT/bench/out/gram-$(basename "$CKPT")"
PY="${WEIGHTLAB_PYTHON:-python3}"
mkdir -p "$OUT"
cat "$CKPT"/*.safetensors > /dev/null 2>&1 || true
echo "[bench] numpy gesdd loop (2 threads)"
OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 "$PY" "$ROOT/bench/numpy_spectrum.py" "$CKPT" --values "$OUT/numpy_values.json" "$@" > "$OUT/numpy.json"
for method in ${WEIGHTLAB_BENCH_METHODS:-auto exact}; do
  echo "[bench] weightlab spectrum --method $method"
  t0=$(date +%s.%N)
  "$ROOT/submit-scripts/weightlab" spectrum "$CKPT" --method "$method" --no-powerlaw --out "$OUT/wl-$method" --overwrite --master "$MASTER" > "$OUT/wl-$method.log" 2>&1
  t1=$(date +%s.%N)
  echo "$t0 $t1" > "$OUT/wl-$method.wall"
done
"$PY" - "$OUT" <<'PYEOF'
import json, os, sys
import numpy as np
out = sys.argv[1]
npj = json.load(open(os.path.join(out, "numpy.json")))
npv = json.load(open(os.path.join(out, "numpy_values.json")))
res = {"numpy_s": round(npj["seconds"], 2), "numpy_matrices": npj["matrices"]}
for m in os.environ.get("WEIGHTLAB_BENCH_METHODS", "auto exact").split():
    rows = json.load(open(os.path.join(out, "wl-" + m, "spectrum.json")))["matrices"]
    ok = [r for r in rows if r["status"] == "ok"]
    svs = json.load(open(os.path.join(out, "wl-" + m, "singular_values.json")))
    assert sorted(svs) == sorted(npv), ("different matrix sets", sorted(set(svs) ^ set(npv)))
    worst = {}
    for r in ok:
        a, b = np.array(svs[r["name"]]), np.array(npv[r["name"]])
        rel = float(np.max(np.abs(a - b) / b))
        worst.setdefault(r["sv_route"], []).append((rel, r["sv_rel_error_est"]))
    log = open(os.path.join(out, "wl-" + m + ".log")).read()
    job = float(log.split(" matrices in ")[1].split(" s")[0])
    t0, t1 = map(float, open(os.path.join(out, "wl-" + m + ".wall")).read().split())
    res[m] = {"matrices": len(ok), "job_s": job, "wall_s": round(t1 - t0, 2), "job_vs_numpy": round(job / npj["seconds"], 3),
              "wall_vs_numpy": round((t1 - t0) / npj["seconds"], 3),
              "routes": {k: len(v) for k, v in worst.items()},
              "max_rel_diff_vs_numpy": {k: max(x[0] for x in v) for k, v in worst.items()},
              "max_rel_error_est": {k: max(x[1] for x in v) for k, v in worst.items()}}
print(json.dumps(res, indent=2))
PYEOF
