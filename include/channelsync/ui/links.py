"""Addresses of a run: its status page in channelsync's plugin, and its DAG run and task logs in
Airflow's own UI — one place for the alert e-mails, the DAG-run notes, the approval requests and the pages.

A sync run's ``run_key`` is ``<dag_id>/<run_id>`` (the DAG builder writes it); Airflow 3's UI shows a
DAG run at ``/dags/<dag_id>/runs/<run_id>`` and a task instance, logs first, under ``/tasks/<task_id>``.
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit

STAGES = ("extract", "validate", "reconcile", "load", "report")
NAV_ROUTE = "channelsync"  # the plugin's view in Airflow's navigation (plugins/channelsync_plugin.py)
APP_PREFIX = "/channelsync"  # where the plugin's FastAPI app is mounted


def airflow_base_url() -> str:
    """``[api] base_url`` (``AIRFLOW__API__BASE_URL``): where people reach Airflow's UI."""
    try:
        from airflow.configuration import conf

        value = conf.get("api", "base_url", fallback="") or ""
    except Exception:  # Airflow not importable here: its environment variable still says it
        value = os.environ.get("AIRFLOW__API__BASE_URL", "")
    return value.rstrip("/")


def status_page_url(run_id: int, base: str | None = None) -> str:
    """The run's status page in the channelsync plugin, as Airflow's navigation serves it."""
    base = airflow_base_url() if base is None else base.rstrip("/")
    root = urlsplit(base).path.rstrip("/")
    return f"{base}/plugin/{NAV_ROUTE}{root}{APP_PREFIX}/runs/{run_id}"


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
