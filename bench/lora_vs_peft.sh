#!/usr/bin/env bash
# Benchmark: `weightlab lora-init --method pissa|pissa_niter_4 --target-modules all-linear` against PEFT's own
# init_lora_weights="pissa"/"pissa_niter_4" (torch CPU, same machine, same run), r=16, on a TinyLlama-shaped
# 2-block float32 Llama (14 matrices of 2048x2048 .. 2048x5632; generated on first use).
#   bench/lora_vs_peft.sh [MODEL_DIR] [MASTER]   (REPEAT=3: runs per tool, alternating; medians reported;
#   METHODS="pissa pissa_niter_4"; LAYERS=2 for a generated MODEL_DIR)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL="${1:-$ROOT/bench/data/tinyllama-2l-f32}"
MASTER="${2:-local[2]}"
OUT="${OUT:-$ROOT/bench/out/lora}"
PY="${WEIGHTLAB_PYTHON:-python3}"
"$PY" -c "import torch, transformers, peft" 2>/dev/null || "$PY" -m pip install -q torch transformers peft safetensors
[[ -f "$MODEL/model.safetensors" || -f "$MODEL/model.safetensors.index.json" ]] || "$PY" "$ROOT/bench/make_llama_f32.py" "$MODEL" "${LAYERS:-2}"
REPEAT="${REPEAT:-3}"
METHODS="${METHODS:-pissa pissa_niter_4}"
rm -rf "$OUT"; mkdir -p "$OUT"
# Our launcher records its class-data archive on the first Spark job after a build: that run is here, untimed.
"$ROOT/submit-scripts/weightlab" lora-init "$MODEL" --out "$OUT/warm-up" --master "$MASTER" --method pissa_niter_4 --r 16 \
    --target-modules all-linear > "$OUT/warm-up.log" 2>&1
rm -rf "$OUT/warm-up"
for rep in $(seq 1 "$REPEAT"); do
  for m in $METHODS; do
    # each timed run starts with no dirty pages pending from the previous tool's 1 GB residual (both write one)
    sync
    echo "[bench] $rep/$REPEAT peft $m"
    rm -rf "$OUT/peft-$m"
    "$PY" "$ROOT/bench/peft_pissa.py" "$MODEL" "$m" 16 "$OUT/peft-$m" > "$OUT/peft-$m-$rep.json"
    sync
    echo "[bench] $rep/$REPEAT weightlab $m"
    rm -rf "$OUT/wl-$m"
    t0=$(date +%s.%N)
    "$ROOT/submit-scripts/weightlab" lora-init "$MODEL" --out "$OUT/wl-$m" --master "$MASTER" --method "$m" --r 16 --alpha 16 \
        --target-modules all-linear > "$OUT/wl-$m.log" 2>&1
    t1=$(date +%s.%N)
    echo "{\"wall\": $("$PY" -c "print($t1 - $t0)"), \"factors\": $("$PY" -c "import json; print(json.load(open('$OUT/wl-$m/weightlab_provenance.json'))['run']['seconds_factors'])"), \"job\": $("$PY" -c "import json; print(json.load(open('$OUT/wl-$m/weightlab_provenance.json'))['run']['seconds'])")}" > "$OUT/wl-$m-$rep.json"
  done
done
for m in $METHODS; do "$PY" "$ROOT/bench/lora_reconstruction.py" "$MODEL" "$OUT/wl-$m" > "$OUT/wl-$m-check.json"; done
BENCH_MODEL="$MODEL" "$PY" - "$OUT" "$REPEAT" $METHODS <<'PYEOF'
import json, sys, os, datetime, statistics
out, n, methods = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
res = {"date": datetime.date.today().isoformat(), "model": os.environ.get("BENCH_MODEL", ""), "machine": f"{os.cpu_count()} cores", "repeats": n, "statistic": "median"}
for m in methods:
    ps = [json.load(open(os.path.join(out, f"peft-{m}-{i}.json"))) for i in range(1, n + 1)]
    ws = [json.load(open(os.path.join(out, f"wl-{m}-{i}.json"))) for i in range(1, n + 1)]
    c = json.load(open(os.path.join(out, f"wl-{m}-check.json")))
    med = lambda xs, k: statistics.median(x[k] for x in xs)
    p_init, p_e2e = med(ps, "seconds"), med(ps, "seconds_end_to_end")
    w_fac, w_job, w_wall = med(ws, "factors"), med(ws, "job"), med(ws, "wall")
    res[m] = {"peft_init_s": p_init, "peft_end_to_end_s": p_e2e, "peft_end_to_end_runs": [round(x["seconds_end_to_end"], 2) for x in ps],
              "peft_modules": ps[0]["modules"], "peft_max_rel_err": max(x["max_rel_err"] for x in ps),
              "weightlab_job_s": w_job, "weightlab_factor_stage_s": w_fac, "weightlab_wall_s": w_wall,
              "weightlab_wall_runs": [round(x["wall"], 2) for x in ws], "weightlab_max_rel_err": c["max_rel_err"],
              "weightlab_residual_norm_vs_sigma_r1": c["residual_norm_vs_sigma_r1"],
              "speedup_factor_stage_vs_peft_init": p_init / w_fac,
              "speedup_job_vs_peft_end_to_end": p_e2e / w_job,
              "speedup_wall_vs_peft_end_to_end": p_e2e / w_wall}
json.dump(res, open(os.path.join(out, "lora-bench.json"), "w"), indent=2)
print(json.dumps(res, indent=2))
PYEOF
