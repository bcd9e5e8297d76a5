#!/usr/bin/env bash
# A longer fuzzing campaign over every parser of untrusted input (Jazzer, coverage-guided):
#   bench/fuzz_campaign.sh [ROUNDS]      (default 5)
# Each round runs every @FuzzTest of common/.../io/ParserFuzzTest for its maxDuration (60 s, 30 s, 60 s), starting
# from the corpus the previous rounds grew, so ROUNDS x 2.5 min in all; new coverage goes to
# common/.cifuzz-corpus/, crashes to common/src/test/resources/.../ParserFuzzTestInputs/<target>/crash-* (commit
# them with the fix: they become regression tests). Prints executions, coverage and crashes per target.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-5}"
OUT="$ROOT/bench/out/fuzz"
mkdir -p "$OUT"
(cd "$ROOT" && mvn -q -B -DskipTests install)
for round in $(seq 1 "$ROUNDS"); do
for target in safetensorsHeaderFailsOnlyWithTypedErrors shardIndexFailsOnlyWithTypedErrors onnxScannerFailsOnlyWithTypedErrors; do
  log="$OUT/$target-$round.log"
  start=$(date +%s)
  if (cd "$ROOT" && JAZZER_FUZZ=1 mvn -q -B -o test -pl common -Dtest="ParserFuzzTest#$target" > "$log" 2>&1); then status=ok; else status=FAILED; fi
  done_line=$(grep -E "DONE|#[0-9]+" "$log" | tail -1 || true)
  execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$done_line")
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  echo "{\"round\": $round, \"target\": \"$target\", \"seconds\": $(( $(date +%s) - start )), \"executions\": ${execs:-0}, \"coverage\": ${cov:-0}, \"status\": \"$status\"}"
done
done
