#!/usr/bin/env bash
# The stats kernel without Spark:  bench/kernel_throughput.sh [CHECKPOINT_DIR] [--parts]
#   throughput on 1 and 2 threads (StatsKernelThroughput); with --parts, one thread's time per value split into
#   read + decode, moments and quantile buckets over the checkpoint's F32 tensors (StatsKernelParts)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CKPT="${1:-$ROOT/bench/data/llama-4g}"
source "$ROOT/bench/java-bench.sh"
cat "$CKPT"/*.safetensors > /dev/null
if [[ "${2:-}" == "--parts" ]]; then
  compile_bench StatsKernelParts.java
  java -Xmx2g -cp "$CP" StatsKernelParts "$CKPT" 2>/dev/null
  exit 0
fi
compile_bench StatsKernelThroughput.java
for t in 1 2; do java -Xmx4g -cp "$CP" StatsKernelThroughput "$CKPT" "$t" 2>/dev/null; done
