"""``channelsync sync``: run the very DAG Airflow schedules, in-process (``dag.test()``).

Before the run, what it needs is checked (``cli/checks.py``): the integrations file, the names given,
Airflow's metadata database, the state store, and the Airflow connections the run reads (defined, and
their hosts answering). A miss is one line naming the fix, before any DAG run is created.
"""

from __future__ import annotations

import json

from channelsync import settings
from channelsync.cli import checks
from channelsync.config import load_config
from channelsync.dagfactory import build_dags
from channelsync.errors import ConfigError
from channelsync.templates.dag_builder import dag_id_for


def run_sync(template: str, integration: str, *, preview: bool) -> int:
    path = settings.config_path()
    chosen = checks.integration_and_template(load_config(path), path, integration, template)
    checks.airflow_metadata()
    checks.state_store()
    checks.connections(chosen, template)
    dags = build_dags(path)
    dag_id = dag_id_for(integration, template)
    if dag_id not in dags:
        raise ConfigError(f"no DAG {dag_id}: is template {template!r} enabled for integration {integration!r}?")
    dag_run = dags[dag_id].test(run_conf={"preview": preview})
    state = str(getattr(dag_run, "state", "unknown"))
    summary = _latest_run(integration, template)
    print(json.dumps({"dag_id": dag_id, "dag_run_state": state, **summary}, indent=2, default=str))
    if preview and summary.get("plan_diff"):
        _print_diff_head(str(summary["plan_diff"]))
    return 0 if state == "success" else 1


def _print_diff_head(path: str, rows: int = 25) -> None:
    """The first lines of the preview's field-level diff (the whole diff stays in the CSV)."""
    import csv

    from channelsync.runs.staging import as_path

    with as_path(path).open("r", encoding="utf-8", newline="") as handle:  # a URL on the staging root
        reader = csv.reader(handle)
        lines = [row for _, row in zip(range(rows + 1), reader, strict=False)]
    if len(lines) <= 1:
        print("preview: no field changes planned")
        return
    widths = [min(40, max(len(row[i]) for row in lines)) for i in range(len(lines[0]))]
    print(f"\npreview: first {len(lines) - 1} diff rows (all in {path})")
    for row in lines:
        print("  ".join(cell[:40].ljust(width) for cell, width in zip(row, widths, strict=False)))


def _latest_run(integration: str, template: str) -> dict[str, object]:
    from sqlalchemy import select

    from channelsync.state.db import session_scope
    from channelsync.state.models import SyncRun

    with session_scope() as session:
        run = session.scalars(
            select(SyncRun).where(SyncRun.integration == integration, SyncRun.template == template)
            .order_by(SyncRun.id.desc()).limit(1)
        ).first()
        if run is None:
            return {}
        return {"run_id": run.id, "status": run.status, "preview": run.preview, "counts": run.counts,
                "api_calls": run.api_calls, "error": run.error_message, "plan_diff": run.plan_path}
