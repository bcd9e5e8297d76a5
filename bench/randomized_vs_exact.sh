#!/usr/bin/env bash
# Randomized top-64 vs exact singular values on 4096 x 4096 (one thread):  bench/randomized_vs_exact.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/java-bench.sh"
compile_bench RandomizedVsExact.java
OPENBLAS_NUM_THREADS=1 java -Xmx8g -Dorg.bytedeco.javacpp.cachedir="$ROOT/bench/out/javacpp" -cp "$CP" RandomizedVsExact 2>/dev/null
