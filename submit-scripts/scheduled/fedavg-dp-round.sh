#!/usr/bin/env bash
# One scheduled federated round with central differential privacy and a privacy budget (docs/algorithms.md §28).
# Round N reads round N-1's ledger (server_state/privacy.json) and refuses to run, writing nothing and exiting 2,
# once the chain's epsilon would exceed EPSILON_BUDGET: the federation then stops by itself.
#   every update clipped to CLIP (L2 over all parameters), uniform mean of the K clients, N(0, (Z*CLIP/K)^2) added;
#   Q = the fraction of the population sampled for each round (manifests list only the sampled clients).
# The noise seed is a secret (whoever knows it can subtract the noise): it is read from a file only the server can
# read, not written into this script or the crontab; set SECURE_NOISE=1 to draw from SecureRandom instead (no seed, but a re-run draws new noise).
# Publish global/round-N/model/ only: round_report.json holds per-client norms and is not private.
#
# cron (every night at 02:00, round number = days since the federation started):
#   0 2 * * * BUCKET=fl-prod START=2026-11-01 SEED_FILE=/etc/weightlab/dp-seed /opt/weightlab/submit-scripts/scheduled/fedavg-dp-round.sh >> /var/log/weightlab-fedavg-dp.log 2>&1
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${BUCKET:?set BUCKET}" "${START:?set START (YYYY-MM-DD of round 0)}"
N="${ROUND:-$(( ( $(date -u +%s) - $(date -u -d "$START" +%s) ) / 86400 ))}"
if [ "${SECURE_NOISE:-0}" = 1 ]; then
  NOISE=(--dp-secure-noise)
else
  NOISE=(--seed "$(cat "${SEED_FILE:?set SEED_FILE (a secret integer) or SECURE_NOISE=1}")")
fi
STATE=()
[ "$N" -gt 0 ] && STATE=(--server-state "s3a://$BUCKET/global/round-$((N - 1))/server_state")
set +e
"$ROOT/submit-scripts/submit" --master "${SPARK_MASTER:-yarn}" --deploy-mode cluster \
  --extra "${SPARK_EXTRA:---conf spark.executor.instances=8 --conf spark.executor.memory=4g}" -- \
  fedavg --manifest "s3a://$BUCKET/rounds/$N/manifest.yaml" --out "s3a://$BUCKET/global/round-$N" \
  --bad-clients drop --min-fraction 0.5 --weighting uniform \
  --dp gaussian --clip "${CLIP:-1.0}" --noise-multiplier "${Z:-1.1}" --sampling-rate "${Q:-0.1}" \
  --delta "${DELTA:-1e-6}" --epsilon-budget "${EPSILON_BUDGET:-8}" "${NOISE[@]}" "${STATE[@]}"
rc=$?
[ "$rc" = 2 ] && echo "round $N refused (bad input or privacy budget spent): see the line above" >&2
exit "$rc"
