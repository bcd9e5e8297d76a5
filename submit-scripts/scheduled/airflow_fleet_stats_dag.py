"""Airflow DAG: nightly fleet analysis of a bucket of training checkpoints through SparkSubmitOperator.

Every checkpoint under s3a://{bucket}/runs/<run>/checkpoint-<step> that is new or changed since the last run is analysed
(stats) and committed to one Parquet dataset, s3a://{bucket}/fleet/stats/, partitioned by model and step (docs/fleet.md).
Each checkpoint is committed as one object, so a retry after a failure analyses only what is missing; --append creates
the dataset on the first run. The spectra go the same way to s3a://{bucket}/fleet/spectrum/, each checkpoint's change
from its predecessor to s3a://{bucket}/fleet/drift/, and one report page of the three to
s3a://{bucket}/fleet/report/report.html (trends, drift, alpha outside [2, 6], every checkpoint and run).
Copy to your DAGs folder; set the Airflow Variable fleet_bucket.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

BUCKET = Variable.get("fleet_bucket", default_var="ml-prod")
JAR = "/opt/weightlab/jobs/target/weightlab-jobs-0.1.0-SNAPSHOT-spark.jar"
INPUTS = f"s3a://{BUCKET}/runs/*/checkpoint-*"
STATS, SPECTRUM, DRIFT = f"s3a://{BUCKET}/fleet/stats", f"s3a://{BUCKET}/fleet/spectrum", f"s3a://{BUCKET}/fleet/drift"
STEPS = {
    "stats": ["stats", "--fleet", INPUTS, "--out", STATS, "--append", "--bad-checkpoints", "skip", "--gg-fit", "moments"],
    "spectrum": ["spectrum", "--fleet", INPUTS, "--out", SPECTRUM, "--append", "--bad-checkpoints", "skip"],
    "compare": ["compare", "--against", "previous", INPUTS, "--out", DRIFT, "--append", "--bad-checkpoints", "skip"],
    "report": ["report", "--fleet", STATS, "--fleet", SPECTRUM, "--fleet", DRIFT, "--out", f"s3a://{BUCKET}/fleet/report", "--overwrite"],
}
CONF = {"spark.executor.memory": "4g", "spark.executor.instances": "8", "spark.executorEnv.OPENBLAS_NUM_THREADS": "1"}


with DAG(
    dag_id="weightlab_fleet_stats",
    start_date=datetime(2026, 12, 1),
    schedule="0 3 * * *",
    catchup=False,
    max_active_runs=1,  # one run at a time per dataset (docs/fleet.md)
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
) as dag:
    stats, spectrum, compare, report = (SparkSubmitOperator(task_id=f"fleet_{k}", conn_id="spark_default", application=JAR,
                                                   java_class="io.weightlab.jobs.WeightLab", name=f"weightlab-fleet-{k}",
                                                   conf=CONF, application_args=args) for k, args in STEPS.items())
    [stats, spectrum, compare] >> report
