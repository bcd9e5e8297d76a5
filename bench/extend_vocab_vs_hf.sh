#!/usr/bin/env bash
# Benchmark: `weightlab extend-vocab --method gaussian` on a Llama-3.1-8B-shaped BF16 checkpoint (128,256 x 4,096
# embedding and untied head, 16 GB; `weightlab synth --preset llama-8b`) by K new tokens in a fixed driver heap,
# against what a transformers user runs: from_pretrained, resize_token_embeddings(mean_resizing=True) (Hewitt's
# N(mu, 1e-9 Sigma), torch float32 covariance) and save_pretrained, same machine, same run; wall time and peak RSS
# (GNU time), then a numpy check of our output (old rows and other tensors byte-identical, new rows' mean and
# per-dimension variance against the fitted mu and kappa Sigma).
#   bench/extend_vocab_vs_hf.sh [MODEL, default bench/data/llama-8b-synth] [K, default 32000] [HEAP, default 4g] [both|ours|hf]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
M="${1:-$ROOT/bench/data/llama-8b-synth}"
K="${2:-32000}"
HEAP="${3:-4g}"
PY="${WEIGHTLAB_PYTHON:-python3}"
OUT="$ROOT/bench/out/extend-vocab"
mkdir -p "$OUT"
[[ -f "$M/config.json" ]] || "$ROOT/submit-scripts/weightlab" synth --preset llama-8b --out "$M" --master 'local[2]'
"$PY" -c "import sys; [print(f'<new_token_{i:06d}>') for i in range(int(sys.argv[1]))]" "$K" > "$OUT/tokens.txt"
echo "[bench] $(date -u +%FT%TZ) $(uptime)"

SIDES="${4:-both}"
if [[ "$SIDES" != hf ]]; then
rm -rf "$OUT/ours"
WEIGHTLAB_DRIVER_MEMORY="$HEAP" /usr/bin/time -v "$ROOT/submit-scripts/weightlab" extend-vocab "$M" --out "$OUT/ours" \
  --tokens "$OUT/tokens.txt" --method gaussian --seed 1 --master 'local[2]' > "$OUT/ours.log" 2>&1 || { tail -20 "$OUT/ours.log"; exit 1; }
echo "[bench] weightlab extend-vocab (-Xmx$HEAP, local[2]): wall $(grep 'Elapsed (wall' "$OUT/ours.log" | awk '{print $NF}'), peak RSS $(grep 'Maximum resident' "$OUT/ours.log" | awk '{printf "%.2f GB", $NF/1e6}')"
"$PY" "$ROOT/bench/extend_vocab_check.py" "$M" "$OUT/ours" "$K" 1e-5
fi

if [[ "$SIDES" != ours ]]; then
  rm -rf "$OUT/hf"
  # no address-space cap: from_pretrained maps the 16 GB of shards, so a ulimit -v fails it long before RAM runs out
  ( /usr/bin/time -v "$PY" - "$M" "$OUT/hf" "$K" > "$OUT/hf.log" 2>&1 <<'PYEOF'
import sys, time, torch
from transformers import AutoModelForCausalLM
torch.set_num_threads(2)
src, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.time()
model = AutoModelForCausalLM.from_pretrained(src, torch_dtype=torch.bfloat16, low_cpu_mem_usage=True)
t1 = time.time()
model.resize_token_embeddings(model.get_input_embeddings().weight.shape[0] + k, mean_resizing=True)
t2 = time.time()
model.save_pretrained(out, max_shard_size="5GB")
print(f"load {t1 - t0:.1f} s, resize {t2 - t1:.1f} s, save {time.time() - t2:.1f} s")
PYEOF
  ) && echo "[bench] transformers resize_token_embeddings(mean_resizing=True): wall $(grep 'Elapsed (wall' "$OUT/hf.log" | awk '{print $NF}'), peak RSS $(grep 'Maximum resident' "$OUT/hf.log" | awk '{printf "%.2f GB", $NF/1e6}'), $(grep '^load' "$OUT/hf.log")" \
    || { echo "[bench] transformers failed:"; grep -vE '^\s' "$OUT/hf.log" | tail -5; }
  rm -rf "$OUT/hf"
fi
rm -rf "$OUT/ours"
