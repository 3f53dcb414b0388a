"""Addresses in Airflow's own UI for a run's DAG run and task logs.

A sync run's ``run_key`` is ``<dag_id>/<run_id>`` (the DAG builder writes it); Airflow 3's UI shows a
DAG run at ``/dags/<dag_id>/runs/<run_id>`` and a task instance, logs first, under ``/tasks/<task_id>``.
"""

from __future__ import annotations

from urllib.parse import quote

STAGES = ("extract", "validate", "reconcile", "load", "report")


def split_run_key(run_key: str) -> tuple[str, str]:
    dag_id, _, run_id = run_key.partition("/")
    return dag_id, run_id


def dag_url(airflow_root: str, dag_id: str) -> str:
    return f"{airflow_root}/dags/{quote(dag_id, safe='')}"


def dag_run_url(airflow_root: str, run_key: str) -> str | None:
    dag_id, run_id = split_run_key(run_key)
    if not run_id:
        return None
    return f"{dag_url(airflow_root, dag_id)}/runs/{quote(run_id, safe='')}"


def task_log_url(airflow_root: str, run_key: str, task_id: str) -> str | None:
    run_url = dag_run_url(airflow_root, run_key)
    return f"{run_url}/tasks/{quote(task_id, safe='')}" if run_url else None


def failed_stage(error_message: str | None) -> str | None:
    """The stage a failure message names (``runner.record_stage_failure`` writes ``<stage>: …``)."""
    if not error_message:
        return None
    stage = error_message.partition(":")[0].split(" ")[0]
    return stage if stage in STAGES else None
