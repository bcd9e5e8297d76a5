#!/usr/bin/env bash
# Benchmark: `weightlab rescale --apply '*=tvr'` against the torch script a user would write (bench/torch_tvr.py),
# on the same checkpoint, machine and run; both read and write the whole checkpoint.
#   bench/rescale_vs_torch.sh [CHECKPOINT_DIR] [MASTER]
# Without CHECKPOINT_DIR it generates the LLaMA-shaped 4.4 GB BF16 checkpoint (bench/data/llama-4g) first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CKPT="${1:-$ROOT/bench/data/llama-4g}"
MASTER="${2:-local[2]}"
# 0.003: below every block matrix of the generated checkpoint (std 0.0042-0.02), so TVR rescales all 140 of them
TARGET="${TARGET:-0.003}"
OUT="$ROOT/bench/out/rescale"
PY="${WEIGHTLAB_PYTHON:-python3}"
"$PY" -c "import torch, safetensors" 2>/dev/null || "$PY" -m pip install -q torch safetensors numpy ml_dtypes
if [[ ! -f "$CKPT/model.safetensors.index.json" && ! -f "$CKPT/model.safetensors" ]]; then
  "$PY" "$ROOT/bench/make_bf16_checkpoint.py" "$CKPT" --hidden 3072 --intermediate 8192 --layers 20 --heads 24 --shard-gb 2
fi
rm -rf "$OUT"; mkdir -p "$OUT"
cat "$CKPT"/*.safetensors > /dev/null   # page cache warm for everyone

echo "[bench] torch"
sync; "$PY" "$ROOT/bench/torch_tvr.py" "$CKPT" "$OUT/torch" "$TARGET" > "$OUT/torch.json"
rm -rf "$OUT/torch-copy"
RUNS=""
for shard in 5GB 1GB; do
  for i in 1 2; do
    echo "[bench] weightlab rescale --max-shard-size $shard (run $i)"
    sync
    t0=$(date +%s.%N)
    "$ROOT/submit-scripts/weightlab" rescale "$CKPT" --out "$OUT/wl-$shard" --overwrite --master "$MASTER" \
      --max-shard-size "$shard" --apply "*=tvr:target_std=$TARGET" > "$OUT/wl-$shard.log" 2>&1
    t1=$(date +%s.%N)
    RUNS="$RUNS $shard:$("$PY" -c "print($t1 - $t0)"):$("$PY" -c "import json; r=json.load(open('$OUT/wl-$shard/weightlab_provenance.json'))['run']; print(r['seconds'])")"
  done
done
"$PY" "$ROOT/bench/compare_rescaled.py" "$OUT/torch" "$OUT/wl-5GB" > "$OUT/agreement.json"

"$PY" - "$OUT" "$MASTER" "$RUNS" <<'PYEOF'
import json, sys, os, platform, datetime
out, master, runs = sys.argv[1], sys.argv[2], sys.argv[3].split()
t = json.load(open(os.path.join(out, "torch.json")))
agree = json.load(open(os.path.join(out, "agreement.json")))
best = {}
for r in runs:
    shard, wall, job = r.split(":")
    best.setdefault(shard, []).append((float(wall), float(job)))
res = {"date": datetime.date.today().isoformat(), "machine": f"{os.cpu_count()} cores", "master": master,
       "bytes_in": t["bytes_in"], "torch_s": t["seconds"], "torch_gb_s_in": t["bytes_in"] / t["seconds"] / 1e9,
       "torch_rescaled": t["rescaled"], "agreement_vs_torch": agree}
for shard, v in best.items():
    wall, job = min(v)
    res[f"weightlab_{shard}_wall_s"] = wall
    res[f"weightlab_{shard}_job_s"] = job
    res[f"weightlab_{shard}_gb_s_in"] = t["bytes_in"] / job / 1e9
    res[f"speedup_{shard}_job_vs_torch"] = t["seconds"] / job
    res[f"speedup_{shard}_wall_vs_torch"] = t["seconds"] / wall
json.dump(res, open(os.path.join(out, "rescale-bench.json"), "w"), indent=2)
print(json.dumps(res, indent=2))
PYEOF
