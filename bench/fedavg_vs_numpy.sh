#!/usr/bin/env bash
# Benchmark: one `weightlab fedavg` round of K full-checkpoint clients against numpy FedAvg of the same clients
# (Flower's in-memory aggregate and a streaming numpy loop), same machine, same run; wall time, client GB/s and
# peak resident memory (GNU time) for K = 4, 32 and 128.   bench/fedavg_vs_numpy.sh ["4 32 128"] [DRIVER_MEMORY]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KS="${1:-4 32 128}"
MEM="${2:-1g}"
PY="${WEIGHTLAB_PYTHON:-python3}"
BASE="$ROOT/bench/data/fed-base"
OUT="$ROOT/bench/out/fed"
mkdir -p "$OUT"
[[ -f "$BASE/model.safetensors" ]] || "$PY" - "$BASE" <<'PYEOF'
import sys, torch
from transformers import LlamaConfig, LlamaForCausalLM
torch.manual_seed(0)
cfg = LlamaConfig(vocab_size=8000, hidden_size=1024, intermediate_size=2816, num_hidden_layers=2, num_attention_heads=16,
                  num_key_value_heads=4, tie_word_embeddings=False)
LlamaForCausalLM(cfg).save_pretrained(sys.argv[1], safe_serialization=True)
PYEOF
results="$OUT/results.jsonl"; : > "$results"
KMAX=$(tr ' ' '\n' <<< "$KS" | sort -n | tail -1)
for K in $(tr ' ' '\n' <<< "$KS" | sort -rn); do   # the largest set first: the smaller ones link into it

  C="$ROOT/bench/data/fed-clients-$K"
  if [[ ! -f "$C/manifest.json" ]]; then
    if [[ "$K" == "$KMAX" ]]; then
      "$PY" "$ROOT/jobs/src/test/python/fed_check.py" make "$BASE" "$C" "$K" > /dev/null
    else
      # client i is the same file for every K (its noise is seeded by i): hard links into the largest set save 3 GB
      "$PY" - "$ROOT/bench/data/fed-clients-$KMAX" "$C" "$K" <<'PYEOF'
import json, os, sys
src, dst, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
m = json.load(open(os.path.join(src, "manifest.json")))
m["clients"] = m["clients"][:k]
for c in m["clients"]:
    d = os.path.join(dst, c["id"]); os.makedirs(d, exist_ok=True)
    for f in ("model.safetensors", "client.json"):
        if not os.path.exists(os.path.join(d, f)): os.link(os.path.join(c["uri"], f), os.path.join(d, f))
    c["uri"] = d
json.dump(m, open(os.path.join(dst, "manifest.json"), "w"), indent=1)
PYEOF
    fi
  fi
  cat "$C"/c*/model.safetensors > /dev/null   # same page-cache state for every tool
  rm -rf "$OUT/wl-$K"
  /usr/bin/time -v -o "$OUT/wl-$K.time" env WEIGHTLAB_DRIVER_MEMORY="$MEM" "$ROOT/submit-scripts/weightlab" fedavg \
      --manifest "$C/manifest.json" --out "$OUT/wl-$K" --memory-budget 64MiB > "$OUT/wl-$K.log" 2>&1
  wl_s=$("$PY" -c "import json; print(json.load(open('$OUT/wl-$K/round_report.json'))['run']['seconds'])")
  wl_rss=$(awk -F': ' '/Maximum resident/ {print $2/1024}' "$OUT/wl-$K.time")
  wl_wall=$(awk -F': ' '/Elapsed \(wall/ {print $2}' "$OUT/wl-$K.time")
  echo "{\"tool\": \"weightlab\", \"clients\": $K, \"job_seconds\": $wl_s, \"wall\": \"$wl_wall\", \"peak_rss_mb\": $wl_rss, \"driver_heap\": \"$MEM\"}" >> "$results"
  for mode in inmemory streaming torch; do
    # address space capped below the machine's memory: an in-memory round that cannot fit fails with MemoryError
    # instead of waking the OOM killer
    if (ulimit -v "${NUMPY_MAX_KB:-$((20 * 1024 * 1024))}"; /usr/bin/time -v -o "$OUT/np-$mode-$K.time" "$PY" "$ROOT/bench/numpy_fedavg.py" "$C/manifest.json" "$OUT/np-$mode-$K.safetensors" "$mode" > "$OUT/np-$mode-$K.json" 2>&1); then
      rss=$(awk -F': ' '/Maximum resident/ {print $2/1024}' "$OUT/np-$mode-$K.time")
      "$PY" -c "import json; d=json.load(open('$OUT/np-$mode-$K.json')); d.update(tool='numpy-'+d.pop('mode'), peak_rss_mb=$rss); print(json.dumps(d))" >> "$results"
    else
      echo "{\"tool\": \"numpy-$mode\", \"clients\": $K, \"failed\": \"$(tail -1 "$OUT/np-$mode-$K.json" | tr -d '"')\"}" >> "$results"
    fi
  done
done
cat "$results"
