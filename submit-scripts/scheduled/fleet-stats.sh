#!/usr/bin/env bash
# Nightly fleet analysis of a bucket of checkpoints: every checkpoint saved under s3a://$BUCKET/runs/<run>/checkpoint-<step>
# since the last run is analysed (stats) and added to one Parquet dataset, s3a://$BUCKET/fleet/stats/, partitioned by
# model (the run's name) and step (docs/fleet.md). --append (which creates the dataset the first night) analyses only new or changed checkpoints (length and ETag),
# each committed as one object, so a killed or retried run is harmless: the next one completes it. Checkpoints deleted
# from the bucket keep their rows (listed in the run record under not_in_inputs); add --prune to drop them.
# A checkpoint that cannot be read is skipped and listed in s3a://$BUCKET/fleet/stats/_fleet/runs/<run>.json.
# Then the same for the spectra (s3a://$BUCKET/fleet/spectrum/) and each checkpoint's change from its predecessor
# (s3a://$BUCKET/fleet/drift/: new steps, and those whose predecessor changed), and one page of the three,
# s3a://$BUCKET/fleet/report/report.html: trends over steps, drift, alpha outside [2, 6], every checkpoint and run
# (docs/fleet.md).
#
# cron (every night at 03:00):
#   0 3 * * * BUCKET=ml-prod /opt/weightlab/submit-scripts/scheduled/fleet-stats.sh >> /var/log/weightlab-fleet.log 2>&1
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${BUCKET:?set BUCKET}"
OUT="s3a://$BUCKET/fleet/stats"
SUBMIT=("$ROOT/submit-scripts/submit" --master "${SPARK_MASTER:-yarn}" --deploy-mode cluster
  --extra "${SPARK_EXTRA:---conf spark.executor.instances=8 --conf spark.executor.memory=4g}" --)
"${SUBMIT[@]}" stats --fleet "s3a://$BUCKET/runs/*/checkpoint-*" --out "$OUT" --append --bad-checkpoints skip --gg-fit moments
"${SUBMIT[@]}" spectrum --fleet "s3a://$BUCKET/runs/*/checkpoint-*" --out "s3a://$BUCKET/fleet/spectrum" --append --bad-checkpoints skip
"${SUBMIT[@]}" compare --against previous "s3a://$BUCKET/runs/*/checkpoint-*" --out "s3a://$BUCKET/fleet/drift" --append --bad-checkpoints skip
"${SUBMIT[@]}" report --fleet "$OUT" --fleet "s3a://$BUCKET/fleet/spectrum" --fleet "s3a://$BUCKET/fleet/drift" \
  --out "s3a://$BUCKET/fleet/report" --overwrite
