#!/usr/bin/env bash
# Benchmark (issue 20): one tall matrix through our distributed Gram route (`weightlab spectrum`, a small
# --max-exact-mb forces it) and through Spark MLlib's RowMatrix.computeSVD (bench/java/MllibRowMatrixSvd.java: rows
# read on the executors, Gramian summed, eigendecomposed on the driver), same master, same run. Both are one JVM in
# local mode, so peak RSS (/usr/bin/time -v) covers driver and executors alike. MLlib gets the incubating Vector API
# (its VectorBLAS; no system BLAS for its JNI route is installed here).
#   bench/mllib_vs_spectrum.sh CHECKPOINT_DIR TENSOR [MASTER] [SLICES]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CKPT="$1"; TENSOR="$2"; MASTER="${3:-local[2]}"; SLICES="${4:-32}"
OUT="$ROOT/bench/out/mllib-$(basename "$CKPT")"
PY="${WEIGHTLAB_PYTHON:-python3}"
mkdir -p "$OUT/one"
# the tensor alone, so `spectrum` analyses it and nothing else
"$PY" - "$CKPT" "$TENSOR" "$OUT/one/model.safetensors" <<'PYEOF'
import glob, os, sys
from safetensors import safe_open
from safetensors.torch import save_file
ckpt, name, out = sys.argv[1:]
for f in sorted(glob.glob(os.path.join(ckpt, "*.safetensors"))):
    with safe_open(f, "pt") as s:
        if name in s.keys():
            save_file({name: s.get_tensor(name)}, out)
            break
PYEOF
source "$ROOT/bench/java-bench.sh"
# MLlib is test scope here (the cross-check in MllibAnchorTest): its jars come from the jobs module's test classpath
(cd "$ROOT" && mvn -q -B dependency:build-classpath -pl jobs -Dmdep.includeScope=test -Dmdep.outputFile="$OUT/test-cp.txt" > /dev/null)
MLLIB_CP="$(tr ':' '\n' < "$OUT/test-cp.txt" | grep -E 'spark-mllib|breeze|spire|algebra|cats-kernel|arpack|lapack|blas|netlib|shapeless|scala-collection-compat|scala-parallel|commons-math3|spark-graphx|spark-streaming' | paste -sd:)"
CP_EXTRA="$MLLIB_CP" compile_bench MllibRowMatrixSvd.java
CP="$CP:$MLLIB_CP"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
echo "[bench] weightlab spectrum (distributed Gram route)"
/usr/bin/time -v "$ROOT/submit-scripts/weightlab" spectrum "$OUT/one" --include embeddings --max-exact-mb 64 --no-powerlaw \
  --out "$OUT/wl" --overwrite --master "$MASTER" > "$OUT/wl.log" 2>&1
echo "[bench] MLlib RowMatrix.computeSVD"
/usr/bin/time -v java -Xmx${WEIGHTLAB_DRIVER_MEMORY:-4g} --add-modules=jdk.incubator.vector $(cat "$ROOT/jobs/target/classes/weightlab/jvm-flags.txt") -cp "$CP" \
  MllibRowMatrixSvd "$OUT/one" "$TENSOR" "$MASTER" "$SLICES" > "$OUT/mllib.json" 2> "$OUT/mllib.log"
"$PY" - "$OUT" "$TENSOR" <<'PYEOF'
import json, os, re, sys
import numpy as np
out, name = sys.argv[1:]
def rss_gb(log):
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(log).read()).group(1)) / 1048576
def wall_s(log):
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", open(log).read())
    return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
wl_rows = json.load(open(os.path.join(out, "wl", "spectrum.json")))["matrices"]
row = [r for r in wl_rows if r["name"] == name][0]
ours = np.array(json.load(open(os.path.join(out, "wl", "singular_values.json")))[name])
ml = json.load(open(os.path.join(out, "mllib.json")))
theirs = np.array(ml["singular_values"])
k = min(len(ours), len(theirs))
log = open(os.path.join(out, "wl.log")).read()
print(json.dumps({"matrix": [ml["rows"], ml["cols"]], "route": row["sv_route"], "method": row["method"],
    "weightlab_job_s": float(log.split(" matrices in ")[1].split(" s")[0]) if " matrices in " in log else None,
    "weightlab_wall_s": wall_s(os.path.join(out, "wl.log")), "weightlab_peak_rss_gb": round(rss_gb(os.path.join(out, "wl.log")), 2),
    "mllib_svd_s": ml["seconds"], "mllib_wall_s": wall_s(os.path.join(out, "mllib.log")),
    "mllib_peak_rss_gb": round(rss_gb(os.path.join(out, "mllib.log")), 2),
    "max_rel_diff_top_half": float(np.max(np.abs(ours[:k // 2] - theirs[:k // 2]) / ours[0])),
    "max_rel_diff_all_vs_sigma1": float(np.max(np.abs(ours[:k] - theirs[:k]) / ours[0]))}, indent=2))
PYEOF
