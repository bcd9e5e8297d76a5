#!/usr/bin/env bash
# Nightly fleet analysis of a bucket of checkpoints: every checkpoint saved under s3a://$BUCKET/runs/<run>/checkpoint-<step>
# since the last run is analysed (stats) and added to one Parquet dataset, s3a://$BUCKET/fleet/stats/, partitioned by
# model (the run's name) and step (docs/fleet.md). --append (which creates the dataset the first night) analyses only new or changed checkpoints (length and ETag),
# each committed as one object, so a killed or retried run is harmless: the next one completes it. Checkpoints deleted
# from the bucket keep their rows (listed in the run record under not_in_inputs); add --prune to drop them.
# A checkpoint that cannot be read is skipped and listed in s3a://$BUCKET/fleet/stats/_fleet/runs/<run>.json.
#
# cron (every night at 03:00):
#   0 3 * * * BUCKET=ml-prod /opt/weightlab/submit-scripts/scheduled/fleet-stats.sh >> /var/log/weightlab-fleet.log 2>&1
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${BUCKET:?set BUCKET}"
OUT="s3a://$BUCKET/fleet/stats"
exec "$ROOT/submit-scripts/submit" --master "${SPARK_MASTER:-yarn}" --deploy-mode cluster \
  --extra "${SPARK_EXTRA:---conf spark.executor.instances=8 --conf spark.executor.memory=4g}" -- \
  stats --fleet "s3a://$BUCKET/runs/*/checkpoint-*" --out "$OUT" --append --bad-checkpoints skip --gg-fit moments
