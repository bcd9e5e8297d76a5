#!/usr/bin/env bash
# One scheduled federated round: aggregate round N from its manifest on S3 into the next global model.
# The manifest (s3a://$BUCKET/rounds/N/manifest.yaml) lists the clients that reported for round N:
#   round: N
#   reference: s3a://BUCKET/global/round-(N-1)/model     # previous global: update norms, clipping
#   clients:
#     - {id: site-a, uri: s3a://BUCKET/rounds/N/site-a, examples: 12000}
#     - {id: site-b, uri: s3a://BUCKET/rounds/N/site-b, examples: 800}
# Output: s3a://BUCKET/global/round-N/ (model/, round_report.json, _SUCCESS last). Re-running a round writes the
# same bytes; a committed round is never overwritten (no --overwrite here), so a retried cron run is harmless.
#
# cron (every night at 02:00, round number = days since the federation started):
#   0 2 * * * BUCKET=fl-prod START=2026-11-01 /opt/weightlab/submit-scripts/scheduled/fedavg-round.sh >> /var/log/weightlab-fedavg.log 2>&1
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${BUCKET:?set BUCKET}" "${START:?set START (YYYY-MM-DD of round 0)}"
N="${ROUND:-$(( ( $(date -u +%s) - $(date -u -d "$START" +%s) ) / 86400 ))}"
exec "$ROOT/submit-scripts/submit" --master "${SPARK_MASTER:-yarn}" --deploy-mode cluster \
  --extra "${SPARK_EXTRA:---conf spark.executor.instances=8 --conf spark.executor.memory=4g}" -- \
  fedavg --manifest "s3a://$BUCKET/rounds/$N/manifest.yaml" --out "s3a://$BUCKET/global/round-$N" \
  --bad-clients drop --min-fraction 0.5 --reject-outliers 3.5 --clip median
