#!/usr/bin/env bash
# A FedAvg round's arithmetic per client value outside Spark (bench/FedArithLoop.java), on the clients that
# bench/fedavg_vs_numpy.sh made.   bench/fed_arith_loop.sh [K=32] [BLOCK=2048] [sep|fuse] [STEP elements per read]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K="${1:-32}"; BLOCK="${2:-2048}"; MODE="${3:-sep}"; STEP="${4:-}"
[[ -f "$ROOT/bench/data/fed-clients-$K/manifest.json" ]] || { echo "run bench/fedavg_vs_numpy.sh \"$K\" first" >&2; exit 2; }
CP="$(cat "$ROOT/spark-dist/target/classpath.txt"):$ROOT/common/target/weightlab-common-0.1.0-SNAPSHOT.jar"
java -Xmx1g -cp "$CP" "$ROOT/bench/FedArithLoop.java" "$ROOT/bench/data/fed-clients-$K" "$K" "$BLOCK" "$MODE" $STEP 2>&1 | grep -v SLF4J
