#!/usr/bin/env bash
# Randomized top-64 vs exact singular values on 4096 x 4096 (one thread):  bench/randomized_vs_exact.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ -f "$ROOT/spark-dist/target/classpath.txt" ]] || (cd "$ROOT" && mvn -q -B -DskipTests install)
CP="$ROOT/common/target/classes:$ROOT/jobs/target/weightlab-jobs-0.1.0-SNAPSHOT-spark.jar:$(cat "$ROOT/spark-dist/target/classpath.txt")"
mkdir -p "$ROOT/bench/out/classes"
javac -d "$ROOT/bench/out/classes" -cp "$CP" "$ROOT/bench/java/RandomizedVsExact.java"
OPENBLAS_NUM_THREADS=1 java -Xmx8g -Dorg.bytedeco.javacpp.cachedir="$ROOT/bench/out/javacpp" -cp "$ROOT/bench/out/classes:$CP" RandomizedVsExact 2>/dev/null
