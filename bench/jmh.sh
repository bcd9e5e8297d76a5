#!/usr/bin/env bash
# JMH micro-benchmarks of the hot loops (issue #8): bench/jmh.sh [JMH ARGS...], e.g. bench/jmh.sh -f 1 -i 5
# Installs the project (skipping tests) so weightlab-common is current, builds bench/jmh, runs one fork on one core.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(cd "$ROOT" && mvn -q -B -DskipTests install -pl common -am)
cd "$ROOT/bench/jmh"
mvn -q -B package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
java -cp "target/weightlab-jmh-0.1.0-SNAPSHOT.jar:$(cat target/classpath.txt)" org.openjdk.jmh.Main -rf json -rff "$ROOT/bench/out/jmh.json" "$@"
