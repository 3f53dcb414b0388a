"""The ``channelsync_maintenance`` DAG: housekeeping no person should have to do by hand.

- ``staging_retention``: removes the staged files of runs older than
  ``CHANNELSYNC_STAGING_RETENTION_DAYS`` (default 14) from the staging root (``runs/staging.py``),
  local or on object storage;
- ``ledger_retention``: removes run-scoped ledger rows of runs finished that long ago (a finished
  run is never retried). Tenant-scoped rows — the exactly-once record of creations, postings and
  submissions — are kept for ever.
- ``weekly_digest``: each integration's digest of the last full week, e-mailed to its alert lists
  once (the first run after the week ends; a refused one the next day): ``channelsync.digest``.

Imported at DAG parse time: airflow.sdk only; the task bodies import the rest.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, task

RETENTION_ENV = "CHANNELSYNC_STAGING_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 14.0


def retention_days() -> float:
    return float(os.environ.get(RETENTION_ENV) or DEFAULT_RETENTION_DAYS)


def build_maintenance_dag() -> DAG:
    with DAG(
        dag_id="channelsync_maintenance",
        description="channelsync housekeeping: staged files and ledger rows past retention, weekly digests",
        doc_md=__doc__,
        schedule="@daily",
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        default_args={"owner": "channelsync", "retries": 2, "retry_delay": timedelta(minutes=5),
                      "on_failure_callback": _on_task_failure},
        tags=["channelsync", "maintenance"],
        on_failure_callback=_on_task_failure,
    ) as dag:

        @task(task_id="staging_retention")
        def staging_retention() -> dict[str, Any]:
            from channelsync.runs.staging import remove_older_than

            return remove_older_than(retention_days())

        @task(task_id="ledger_retention")
        def ledger_retention() -> dict[str, Any]:
            from channelsync.state.retention import remove_run_scoped_ledger

            return remove_run_scoped_ledger(older_than_days=retention_days())

        @task(task_id="weekly_digest")
        def weekly_digest() -> dict[str, Any]:
            from channelsync import digest, settings
            from channelsync.config import load_config

            return digest.send_due(load_config(settings.config_path()), state_url=settings.state_url())

        staging_retention()
        ledger_retention()
        weekly_digest()
    return dag


def _on_task_failure(context: Any) -> None:
    from channelsync.alerts import on_task_failure

    on_task_failure(context)
