#!/usr/bin/env python3
"""Splits one WeightLab run's wall time into phases from its Spark event log (not from guesses).

    startup_phases.py EVENT_LOG T0 T_EXIT      (T0, T_EXIT: the shell's epoch seconds around the command)

Phases: JVM start -> SparkContext up (application start event), -> first task of the job's own stages,
the job's own tasks (first launch -> last finish), -> application end (outputs written, report rendered),
-> process exit (SparkContext stop, JVM exit). Spark jobs run for SQL (a DataFrame write) are reported apart.
Prints one JSON object.
"""
import json, os, sys

log, t0, t_exit = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
app_start = app_end = None
sql_jobs, job_stages, stage_job = set(), {}, {}
tasks = []  # (job id, launch s, finish s)
sql_exec = 0
files = [log] if os.path.isfile(log) else sorted(os.path.join(log, f) for f in os.listdir(log) if f.startswith("events_"))
lines = [l for f in files for l in open(f)]
for line in lines:
    e = json.loads(line)
    ev = e["Event"]
    if ev == "SparkListenerApplicationStart":
        app_start = e["Timestamp"] / 1000
    elif ev == "SparkListenerApplicationEnd":
        app_end = e["Timestamp"] / 1000
    elif ev == "SparkListenerJobStart":
        props = e.get("Properties") or {}
        if "spark.sql.execution.id" in props:
            sql_jobs.add(e["Job ID"])
        for s in e["Stage IDs"]:
            stage_job[s] = e["Job ID"]
    elif ev == "SparkListenerTaskEnd":
        info = e["Task Info"]
        tasks.append((stage_job.get(e["Stage ID"]), info["Launch Time"] / 1000, info["Finish Time"] / 1000))
    elif ev.endswith("SparkListenerSQLExecutionStart"):
        sql_exec += 1
own = [t for t in tasks if t[0] not in sql_jobs]
sql = [t for t in tasks if t[0] in sql_jobs]
first = min(t[1] for t in own) if own else app_start
last = max(t[2] for t in own) if own else app_start
res = {
    "wall_s": t_exit - t0,
    "jvm_to_context_s": app_start - t0,
    "context_to_first_task_s": first - app_start,
    "tasks_s": last - first,
    "last_task_to_app_end_s": app_end - last,
    "app_end_to_exit_s": t_exit - app_end,
    "overhead_s": (t_exit - t0) - (last - first),
    "spark_jobs": len({t[0] for t in tasks}),
    "sql_jobs": len(sql_jobs),
    "sql_executions": sql_exec,
    "sql_tasks_s": (max(t[2] for t in sql) - min(t[1] for t in sql)) if sql else 0.0,
}
print(json.dumps(res))
