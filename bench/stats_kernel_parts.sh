#!/usr/bin/env bash
# Where the stats kernel's time per value goes (one thread, no Spark):  bench/stats_kernel_parts.sh [F32_CHECKPOINT]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CKPT="${1:-$ROOT/../shared/fixtures/all-minilm-l6-v2}"
source "$ROOT/bench/java-bench.sh"
compile_bench StatsKernelParts.java
cat "$CKPT"/*.safetensors > /dev/null
java -Xmx2g -cp "$CP" StatsKernelParts "$CKPT" 2>/dev/null
