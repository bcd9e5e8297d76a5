"""Airflow DAG: one federated round per day, server step on Spark through SparkSubmitOperator.

Round N reads s3a://{bucket}/rounds/{N}/manifest.yaml (clients, example counts, previous global as reference) and
writes s3a://{bucket}/global/round-{N}/ (model/, round_report.json, _SUCCESS last). A sensor waits for the manifest;
the round is idempotent (same inputs, same bytes; a committed round is not overwritten), so retries are safe.
Copy to your DAGs folder; set the Airflow Variables fl_bucket and fl_start (YYYY-MM-DD of round 0).
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

BUCKET = Variable.get("fl_bucket", default_var="fl-prod")
START = Variable.get("fl_start", default_var="2026-11-01")
ROUND = "{{ (macros.datetime.strptime(ds, '%Y-%m-%d') - macros.datetime.strptime('" + START + "', '%Y-%m-%d')).days }}"

with DAG(
    dag_id="weightlab_fedavg_round",
    start_date=datetime(2026, 11, 1),
    schedule="0 2 * * *",
    catchup=False,
    max_active_runs=1,  # rounds in order: round N+1's reference is round N's output
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
) as dag:
    manifest_ready = S3KeySensor(
        task_id="manifest_ready",
        bucket_name=BUCKET,
        bucket_key=f"rounds/{ROUND}/manifest.yaml",
        poke_interval=300,
        timeout=6 * 3600,
    )
    aggregate = SparkSubmitOperator(
        task_id="aggregate",
        conn_id="spark_default",  # master, deploy mode and spark-submit path live in the connection
        application="/opt/weightlab/jobs/target/weightlab-jobs-0.1.0-SNAPSHOT-spark.jar",
        java_class="io.weightlab.jobs.WeightLab",
        name=f"weightlab-fedavg-round-{ROUND}",
        conf={"spark.executor.memory": "4g", "spark.executor.instances": "8",
              "spark.executorEnv.OPENBLAS_NUM_THREADS": "1"},
        application_args=[
            "fedavg",
            "--manifest", f"s3a://{BUCKET}/rounds/{ROUND}/manifest.yaml",
            "--out", f"s3a://{BUCKET}/global/round-{ROUND}",
            "--bad-clients", "drop", "--min-fraction", "0.5",
            "--reject-outliers", "3.5", "--clip", "median",
        ],
    )
    manifest_ready >> aggregate
