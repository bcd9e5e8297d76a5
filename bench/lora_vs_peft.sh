#!/usr/bin/env bash
# Benchmark: `weightlab lora-init --method pissa|pissa_niter_4 --target-modules all-linear` against PEFT's own
# init_lora_weights="pissa"/"pissa_niter_4" (torch CPU, same machine, same run), r=16, on a TinyLlama-shaped
# 2-block float32 Llama (14 matrices of 2048x2048 .. 2048x5632; generated on first use).
#   bench/lora_vs_peft.sh [MODEL_DIR] [MASTER]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL="${1:-$ROOT/bench/data/tinyllama-2l-f32}"
MASTER="${2:-local[2]}"
OUT="$ROOT/bench/out/lora"
PY="${WEIGHTLAB_PYTHON:-python3}"
"$PY" -c "import torch, transformers, peft" 2>/dev/null || "$PY" -m pip install -q torch transformers peft safetensors
[[ -f "$MODEL/model.safetensors" || -f "$MODEL/model.safetensors.index.json" ]] || "$PY" "$ROOT/bench/make_llama_f32.py" "$MODEL" 2
rm -rf "$OUT"; mkdir -p "$OUT"
for m in pissa pissa_niter_4; do
  echo "[bench] peft $m"
  "$PY" "$ROOT/bench/peft_pissa.py" "$MODEL" "$m" 16 "$OUT/peft-$m" > "$OUT/peft-$m.json"
  echo "[bench] weightlab $m"
  t0=$(date +%s.%N)
  "$ROOT/submit-scripts/weightlab" lora-init "$MODEL" --out "$OUT/wl-$m" --master "$MASTER" --method "$m" --r 16 --alpha 16 \
      --target-modules all-linear > "$OUT/wl-$m.log" 2>&1
  t1=$(date +%s.%N)
  echo "{\"wall\": $("$PY" -c "print($t1 - $t0)"), \"factors\": $("$PY" -c "import json; print(json.load(open('$OUT/wl-$m/weightlab_provenance.json'))['run']['seconds_factors'])"), \"job\": $("$PY" -c "import json; print(json.load(open('$OUT/wl-$m/weightlab_provenance.json'))['run']['seconds'])")}" > "$OUT/wl-$m.json"
  "$PY" "$ROOT/bench/lora_reconstruction.py" "$MODEL" "$OUT/wl-$m" > "$OUT/wl-$m-check.json"
done
"$PY" - "$OUT" <<'PYEOF'
import json, sys, os, datetime
out = sys.argv[1]
res = {"date": datetime.date.today().isoformat(), "machine": f"{os.cpu_count()} cores"}
for m in ("pissa", "pissa_niter_4"):
    p = json.load(open(os.path.join(out, f"peft-{m}.json"))); w = json.load(open(os.path.join(out, f"wl-{m}.json")))
    c = json.load(open(os.path.join(out, f"wl-{m}-check.json")))
    res[m] = {"peft_init_s": p["seconds"], "peft_end_to_end_s": p["seconds_end_to_end"], "peft_modules": p["modules"],
              "peft_max_rel_err": p["max_rel_err"], "weightlab_job_s": w["job"], "weightlab_factor_stage_s": w["factors"],
              "weightlab_wall_s": w["wall"], "weightlab_max_rel_err": c["max_rel_err"],
              "weightlab_residual_norm_vs_sigma_r1": c["residual_norm_vs_sigma_r1"],
              "speedup_factor_stage_vs_peft_init": p["seconds"] / w["factors"],
              "speedup_job_vs_peft_end_to_end": p["seconds_end_to_end"] / w["job"],
              "speedup_wall_vs_peft_end_to_end": p["seconds_end_to_end"] / w["wall"]}
json.dump(res, open(os.path.join(out, "lora-bench.json"), "w"), indent=2)
print(json.dumps(res, indent=2))
PYEOF
