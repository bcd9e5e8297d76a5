#!/usr/bin/env bash
# Benchmark: WeightLab's generalized-Gaussian MLE on all values of a tensor vs scipy.stats.gennorm.fit on a 1M
# sample of it, same machine, same run; both fits scored by scipy's mean log-likelihood over all values.
#   bench/gg_vs_scipy.sh [CHECKPOINT TENSOR]...   (default: an F32 fixture matrix and the fixture's embeddings)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${WEIGHTLAB_PYTHON:-python3}"
source "$ROOT/bench/java-bench.sh"
compile_bench GgMleThroughput.java
FIX="$ROOT/../shared/fixtures/all-minilm-l6-v2"
PAIRS=("$@")
[[ ${#PAIRS[@]} -gt 0 ]] || PAIRS=("$FIX" encoder.layer.0.intermediate.dense.weight "$FIX" embeddings.word_embeddings.weight)
for ((i = 0; i < ${#PAIRS[@]}; i += 2)); do
  OURS=$(java -Xmx6g -cp "$CP" GgMleThroughput "${PAIRS[i]}" "${PAIRS[i+1]}" 2>/dev/null)
  "$PY" "$ROOT/bench/gg_vs_scipy.py" "${PAIRS[i]}" "${PAIRS[i+1]}" "$OURS"
done
