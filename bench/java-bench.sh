# Sourced by the Java benchmark scripts: builds the project if needed and compiles one bench/java program.
#   source "$ROOT/bench/java-bench.sh"; compile_bench Name.java   -> sets CP (classpath incl. bench classes)
compile_bench() {
  [[ -f "$ROOT/spark-dist/target/classpath.txt" && -f "$ROOT/jobs/target/weightlab-jobs-0.1.0-SNAPSHOT-spark.jar" ]] \
    || (cd "$ROOT" && mvn -q -B -DskipTests install)
  CP="$ROOT/bench/out/classes:$ROOT/jobs/target/weightlab-jobs-0.1.0-SNAPSHOT-spark.jar:$(cat "$ROOT/spark-dist/target/classpath.txt")"
  mkdir -p "$ROOT/bench/out/classes"
  javac -d "$ROOT/bench/out/classes" -cp "$CP${CP_EXTRA:+:$CP_EXTRA}" "$ROOT/bench/java/$1"
}
