#!/usr/bin/env bash
# Per-matrix PiSSA factor time, ours (one thread, as one Spark task) vs torch (PEFT's pissa_init body, all cores),
# for Llama shapes up to the 70B-class 8192 x 28672:  bench/lora_big_matrix.sh ["ROWSxCOLS ..."] [R]
# (SKIP_TORCH=1: ours only; NITER_ONLY=1: pissa_niter_4 only; TORCH_THREADS=1: torch on one thread, as one of our tasks)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/java-bench.sh"
compile_bench PissaBigMatrix.java
SHAPES="${1:-2048x5632 4096x11008 8192x28672}"
R="${2:-16}"
PY="${WEIGHTLAB_PYTHON:-python3}"
for s in $SHAPES; do
  m="${s%x*}"; n="${s#*x}"
  MODE="${NITER_ONLY:+niter-only}"
  OPENBLAS_NUM_THREADS=1 java -Xmx12g -Dorg.bytedeco.javacpp.cachedir="$ROOT/bench/out/javacpp" -cp "$CP" PissaBigMatrix "$m" "$n" "$R" $MODE 2>/dev/null
  [[ -n "${SKIP_TORCH:-}" ]] || env ${TORCH_THREADS:+OMP_NUM_THREADS=$TORCH_THREADS} "$PY" "$ROOT/bench/torch_big_pissa.py" "$m" "$n" "$R" $MODE
done
