#!/usr/bin/env bash
# The stats kernel's throughput without Spark, on 1 and 2 threads:  bench/kernel_throughput.sh [CHECKPOINT_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CKPT="${1:-$ROOT/bench/data/llama-4g}"
source "$ROOT/bench/java-bench.sh"
compile_bench StatsKernelThroughput.java
cat "$CKPT"/*.safetensors > /dev/null
for t in 1 2; do java -Xmx4g -cp "$CP" StatsKernelThroughput "$CKPT" "$t" 2>/dev/null; done
