#!/usr/bin/env bash
# Benchmark (issue 19): `weightlab merge --screen` of N candidate recipes in one job against running `merge --config`
# once per candidate. The screen reads the inputs once per pass whatever N is; the plain merges read them (and write a
# checkpoint) N times. S of the candidates are merged for real and the per-merge time extrapolated to N (a plain merge
# of one 1B-shaped recipe takes minutes on 2 cores). Wall time and peak RSS by GNU time; results in OUT/results.jsonl.
#   bench/merge_screen.sh [PRESET=llama-1b] [K=3 fine-tunes] [S=3 plain merges] [DRIVER_MEMORY=4g]
# N = 64 by default: ties and dare_ties x density 0.2..0.9 (8) x lambda 0.6, 0.8, 1.0, 1.2 (DENSITIES="0.3, 0.7"
# LAMBDAS="0.8, 1.0" in the environment: a smaller grid, N = 8). Data: bench/data/merge-PRESET (made
# as bench/merge_vs_torch.sh makes it when missing: `synth --preset PRESET --dtype BF16` and bench/make_finetunes.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PRESET="${1:-llama-1b}"; K="${2:-3}"; S="${3:-3}"; MEM="${4:-4g}"
PY="${WEIGHTLAB_PYTHON:-python3}"
DATA="$ROOT/bench/data/merge-$PRESET"; OUT="$ROOT/bench/out/merge-screen-$PRESET"
mkdir -p "$DATA" "$OUT"
[[ -f "$DATA/base/config.json" ]] || "$ROOT/submit-scripts/weightlab" synth --preset "$PRESET" --dtype BF16 --seed 1 --out "$DATA/base" > /dev/null
[[ -f "$DATA/ft$((K - 1))/config.json" ]] || "$PY" "$ROOT/bench/make_finetunes.py" "$DATA/base" "$DATA/ft" "$K" > /dev/null
{
  echo "name: b"; echo "merge_method: ties"; echo "base_model: $DATA/base"; echo "models:"
  for ((i = 0; i < K; i++)); do echo "  - model: $DATA/ft$i"; echo "    parameters: {weight: 1}"; done
  echo "parameters: {density: 0.5}"
  echo "grid:"
  echo "  merge_method: [ties, dare_ties]"
  echo "  density: [${DENSITIES:-0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}]"
  echo "  lambda: [${LAMBDAS:-0.6, 0.8, 1.0, 1.2}]"
} > "$OUT/grid.yaml"
results="$OUT/results.jsonl"; : > "$results"
timed() { # name, then the command: one JSON line with wall seconds and peak RSS
  local name="$1"; shift
  cat "$DATA"/base/*.safetensors "$DATA"/ft*/*.safetensors > /dev/null   # the same page-cache state for every run
  /usr/bin/time -v -o "$OUT/$name.time" "$@" > "$OUT/$name.log" 2>&1
  "$PY" - "$OUT/$name.time" "$name" >> "$results" <<'PYEOF'
import json, sys
t = dict(l.strip().split(": ", 1) for l in open(sys.argv[1]) if ": " in l)
w = [float(x) for x in t["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")]
sec = sum(v * 60 ** (len(w) - 1 - i) for i, v in enumerate(w))
print(json.dumps({"run": sys.argv[2], "wall_s": round(sec, 1), "peak_rss_mb": round(int(t["Maximum resident set size (kbytes)"]) / 1024)}))
PYEOF
}
rm -rf "$OUT/screen"
timed screen env WEIGHTLAB_DRIVER_MEMORY="$MEM" "$ROOT/submit-scripts/weightlab" merge --screen "$OUT/grid.yaml" --out "$OUT/screen"
# S candidates spread over the ranking, each as its own merge (a candidate's recipe from screen.json: JSON is YAML)
"$PY" - "$OUT/screen/screen.json" "$OUT" "$S" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))["candidates"]
s = int(sys.argv[3])
for j in range(s):
    json.dump(c[j * (len(c) - 1) // max(1, s - 1)]["recipe"], open("%s/plain-%d.yaml" % (sys.argv[2], j), "w"))
PYEOF
for ((j = 0; j < S; j++)); do
  rm -rf "$OUT/plain-$j"
  timed "plain-$j" env WEIGHTLAB_DRIVER_MEMORY="$MEM" "$ROOT/submit-scripts/weightlab" merge --config "$OUT/plain-$j.yaml" --out "$OUT/plain-$j"
  rm -rf "$OUT/plain-$j"
done
"$PY" - "$results" "$OUT/screen/screen.json" "$S" <<'PYEOF' | tee -a "$results"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
run = json.load(open(sys.argv[2]))["run"]
n, s = run["candidates"], int(sys.argv[3])
screen = next(r for r in rows if r["run"] == "screen")
plain = [r["wall_s"] for r in rows if r["run"].startswith("plain-")]
per = sum(plain) / len(plain)
print(json.dumps({"candidates": n, "screen_wall_s": screen["wall_s"], "screen_passes": run["passes"], "screen_input_reads": run["input_reads"],
                  "plain_merge_mean_s": round(per, 1), "plain_merges_timed": s, "plain_x_n_extrapolated_s": round(per * n),
                  "speedup": round(per * n / screen["wall_s"], 1)}))
PYEOF
