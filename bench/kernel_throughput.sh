#!/usr/bin/env bash
# The stats kernel's throughput without Spark, on 1 and 2 threads:  bench/kernel_throughput.sh [CHECKPOINT_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CKPT="${1:-$ROOT/bench/data/llama-4g}"
[[ -f "$ROOT/spark-dist/target/classpath.txt" ]] || (cd "$ROOT" && mvn -q -B -DskipTests install)
CP="$ROOT/common/target/classes:$ROOT/jobs/target/weightlab-jobs-0.1.0-SNAPSHOT-spark.jar:$(cat "$ROOT/spark-dist/target/classpath.txt")"
mkdir -p "$ROOT/bench/out/classes"
javac -d "$ROOT/bench/out/classes" -cp "$CP" "$ROOT/bench/java/StatsKernelThroughput.java"
cat "$CKPT"/*.safetensors > /dev/null
for t in 1 2; do java -Xmx4g -cp "$ROOT/bench/out/classes:$CP" StatsKernelThroughput "$CKPT" "$t" 2>/dev/null; done
