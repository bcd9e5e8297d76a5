#!/usr/bin/env bash
# Bounded memory, proven on LLM-sized checkpoints (issue #8): stats, randomized spectrum and rescale over a
# Llama-3.1-8B-shaped BF16 checkpoint (16 GB, `weightlab synth --preset llama-8b`), and fedavg over 4 clients of
# a Llama-3.2-1B shape, each in ONE JVM (local mode: driver and executors share it) with a fixed small heap,
# measured with /usr/bin/time -v (peak RSS = heap + off-heap buffers + the JVM itself).
#   bench/bounded_memory.sh [HEAP, default 4g] [JOBS, default "synth stats spectrum rescale fedavg"]
# Needs ~60 GB free under bench/data (16 GB model, 16 GB rescaled, 4 x 2.5 GB clients + 2.5 GB round).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HEAP="${1:-4g}"
JOBS="${2:-synth stats spectrum rescale fedavg}"
DATA="$ROOT/bench/data"
OUT="$ROOT/bench/out/bounded"
mkdir -p "$DATA" "$OUT"
WL="$ROOT/submit-scripts/weightlab"
M8="$DATA/llama-8b-synth"
SUMMARY="$OUT/summary.md"

# run NAME BYTES_IN CMD...: the job under /usr/bin/time -v; appends a Markdown row to the summary.
run() {
  local name="$1" bytes="$2"; shift 2
  echo "[bench] $name: $*"
  WEIGHTLAB_DRIVER_MEMORY="$HEAP" /usr/bin/time -v "$@" > "$OUT/$name.log" 2>&1 || { tail -20 "$OUT/$name.log"; exit 1; }
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$OUT/$name.log" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$OUT/$name.log" | awk '{print $NF}')
  awk -v d="$(date +%F)" -v n="$name" -v h="$HEAP" -v b="$bytes" -v w="$wall" -v r="$rss" \
    'BEGIN { printf "| %s | %s | %s | %.2f GB | %s | %.2f GB |\n", d, n, h, b / 1e9, w, r / 1e6 }' | tee -a "$SUMMARY"
}
size() { cat "$@" | wc -c; }

[[ -f "$SUMMARY" ]] || echo "| date | job | -Xmx (one JVM, local[2]) | bytes read | wall (m:s) | peak RSS |" > "$SUMMARY"
for job in $JOBS; do
  case "$job" in
    synth)
      rm -rf "$M8"
      run synth-8b 0 "$WL" synth --preset llama-8b --out "$M8" --master 'local[2]' ;;
    stats)
      run stats-8b "$(size "$M8"/*.safetensors)" "$WL" stats "$M8" --out "$OUT/stats-8b" --overwrite --master 'local[2]' ;;
    spectrum)
      run spectrum-randomized-8b "$(size "$M8"/*.safetensors)" "$WL" spectrum "$M8" --out "$OUT/spectrum-8b" --overwrite \
        --method randomized --top-k 64 --include embeddings,head --master 'local[2]' ;;
    rescale)
      run rescale-tvr-8b "$(size "$M8"/*.safetensors)" "$WL" rescale "$M8" --out "$DATA/llama-8b-tvr" --overwrite \
        --apply '*proj*=tvr:target_std=0.02' --master 'local[2]'
      rm -rf "$DATA/llama-8b-tvr" ;;
    fedavg)
      F="$DATA/fed-1b"
      mkdir -p "$F"
      for c in 0 1 2 3 4; do
        [[ -f "$F/c$c/_SUCCESS" ]] || "$WL" synth --preset llama-1b --seed "$c" --out "$F/c$c" --overwrite --master 'local[2]' > "$OUT/synth-1b-c$c.log" 2>&1
      done
      printf '{"round": 1, "reference": "%s", "clients": [%s]}\n' "$F/c0" \
        "$(for c in 1 2 3 4; do printf '{"id": "c%d", "uri": "%s", "examples": %d}' "$c" "$F/c$c" "$((c * 100))"; [[ $c -lt 4 ]] && printf ', '; done)" > "$F/manifest.json"
      run fedavg-4x1b "$(size "$F"/c[1-4]/*.safetensors)" "$WL" fedavg --manifest "$F/manifest.json" --out "$OUT/fedavg-4x1b" --overwrite \
        --master 'local[2]' ;;
    *) echo "unknown job $job" >&2; exit 2 ;;
  esac
done
cat "$SUMMARY"
