#!/usr/bin/env bash
# Scale-out (issue #8): the same `stats` job on a real Spark standalone cluster (master + N workers, separate
# JVMs on 127.0.0.1, executors of 1 core each) with 1 and with 2 workers, and the local[2] run for reference.
#   bench/scale_out.sh [CHECKPOINT_DIR, default bench/data/llama-8b-synth] [EXECUTOR_MEMORY, default 3g]
# Prints one Markdown row per configuration (wall of the whole spark-submit, and the job's own seconds).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CKPT="${1:-$ROOT/bench/data/llama-8b-synth}"
EXEC_MEM="${2:-3g}"
OUT="$ROOT/bench/out/scale-out"
rm -rf "$OUT"; mkdir -p "$OUT/spark-home/jars"
[[ -f "$ROOT/spark-dist/target/classpath.txt" ]] || (cd "$ROOT" && mvn -q -B -DskipTests install)
CP="$(cat "$ROOT/spark-dist/target/classpath.txt")"
APP="$(ls "$ROOT"/jobs/target/weightlab-jobs-*-spark.jar)"
FLAGS="$(cat "$ROOT/jobs/target/classes/weightlab/jvm-flags.txt")"
IFS=: read -ra ENTRIES <<< "$CP"
for j in "${ENTRIES[@]}"; do [[ "$j" == *.jar ]] && ln -sf "$j" "$OUT/spark-home/jars/"; done
export SPARK_HOME="$OUT/spark-home" SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1 OPENBLAS_NUM_THREADS=1
BYTES=$(cat "$CKPT"/*.safetensors | wc -c)
cat "$CKPT"/*.safetensors > /dev/null  # page cache, as for every other contender

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
start() { local log="$1"; shift; java $FLAGS -Xmx512m -cp "$CP" "$@" > "$log" 2>&1 & PIDS+=($!); }

submit() {  # MASTER NAME
  local t0 t1
  t0=$(date +%s.%N)
  java $FLAGS -Xmx1g -cp "$CP" org.apache.spark.deploy.SparkSubmit --master "$1" --deploy-mode client \
    --conf spark.executor.memory="$EXEC_MEM" --conf spark.driver.host=127.0.0.1 \
    --conf "spark.executor.extraJavaOptions=$FLAGS" --class io.weightlab.jobs.WeightLab "$APP" \
    stats "$CKPT" --out "$OUT/$2" --gg-fit moments > "$OUT/$2.log" 2>&1
  t1=$(date +%s.%N)
  local job
  job=$(grep -o '"seconds" *: *[0-9.]*' "$OUT/$2/stats.json" 2>/dev/null | head -1 | grep -o '[0-9.]*$' || echo "?")
  awk -v d="$(date +%F)" -v n="$2" -v a="$t0" -v b="$t1" -v j="$job" -v by="$BYTES" \
    'BEGIN { printf "| %s | %s | %.1f s | %s s | %.2f GB/s |\n", d, n, b - a, j, by / (b - a) / 1e9 }'
}

echo "| date | configuration | spark-submit wall | job seconds | GB/s (wall) |"
echo "|---|---|---:|---:|---:|"
submit "local[2]" "local-2-cores"
PORT=$((20000 + RANDOM % 20000))
MASTER="spark://127.0.0.1:$PORT"
start "$OUT/master.log" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$PORT" --webui-port $((PORT + 1))
sleep 5
for w in 1 2; do
  start "$OUT/worker$w.log" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 1 --memory "$EXEC_MEM" \
    --webui-port $((PORT + 1 + w)) --work-dir "$OUT/work$w" "$MASTER"
  sleep 8
  submit "$MASTER" "standalone-$w-worker"
done
