"""Through Airflow itself (``dag.test()`` with the plugins folder loaded): each finished channelsync DAG
run carries its sync status as a note with a link to its status page, and a failed stage alerts once,
not again from the report task."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.plugin.conftest import ROOT, airflow_env

pytestmark = pytest.mark.airflow

DAG_FILE = textwrap.dedent("""
    # An Airflow DAG file (the DagBag only reads files that say so).
    import json
    from channelsync.config import IntegrationConfig, TemplateConfig
    from channelsync.templates.dag_builder import build_dag
    from tests.dags.posting_template import MAPPED_SPEC, SPEC

    amounts = {"line-1": 10.0, "line-2": 20.0, "line-3": -5.0, "line-4": 7.0}
    integration = IntegrationConfig(
        name="acme", psa={"system": "autotask", "conn_id": "unused"}, distributors={},
        templates={SPEC.name: TemplateConfig(),
                   MAPPED_SPEC.name: TemplateConfig(options={"amounts": amounts, "fail_partition": "line-2"})})
    posting = build_dag(integration, SPEC.name, integration.templates[SPEC.name])
    mapped = build_dag(integration, MAPPED_SPEC.name, integration.templates[MAPPED_SPEC.name])

    if __name__ == "__main__":
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session
        from sqlalchemy import select
        from channelsync.state.db import session_scope, upgrade
        from channelsync.state.models import AlertLog

        upgrade()
        runs = [posting.test(run_conf={"preview": True}), posting.test(run_conf={"preview": False}),
                mapped.test(run_conf={"preview": False})]
        from channelsync_ui.run_notes import wait
        wait()
        with create_session() as session:
            notes = [(r.dag_id, r.run_id, str(r.state), r.note) for r in
                     (session.scalars(select(DagRun).where(DagRun.run_id == run.run_id)).one() for run in runs)]
        with session_scope() as session:
            alerts = [(a.template, a.subject, a.severity)
                      for a in session.scalars(select(AlertLog).order_by(AlertLog.id))]
        # What the scheduler may hand a listener: a DagRun whose session is gone and whose attributes are
        # expired (reading one raises). The listener must neither raise (it would stop the scheduler) nor fail.
        from sqlalchemy.orm.exc import DetachedInstanceError
        from channelsync_ui.run_notes import annotate
        with create_session() as session:
            detached = session.scalars(select(DagRun).where(DagRun.run_id == runs[1].run_id)).one()
            detached.note = None
            session.flush()
            session.expire(detached)
        try:
            detached.dag_id
            expired = False
        except DetachedInstanceError:
            expired = True
        annotate(detached)
        wait()
        with create_session() as session:
            renoted = session.scalars(select(DagRun).where(DagRun.run_id == runs[1].run_id)).one().note
        print(json.dumps({"notes": notes, "alerts": alerts, "expired": expired, "renoted": renoted}))
""")


@pytest.fixture(scope="module")
def dag_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("notes")
    env = airflow_env(home)
    env.update(AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"), POSTING_LOG=str(home / "sent.log"),
               AIRFLOW__API__BASE_URL="http://airflow.example:8080")
    (home / "dags").mkdir()
    (home / "dags" / "posting_dag.py").write_text(DAG_FILE)
    airflow = Path(sys.executable).parent / "airflow"
    migrate = subprocess.run([str(airflow), "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    result = subprocess.run([sys.executable, str(home / "dags" / "posting_dag.py")], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def test_a_run_s_note_says_its_sync_status_and_links_its_status_page(dag_runs: dict[str, Any]) -> None:
    (_, _, preview_state, preview), (_, _, real_state, real) = dag_runs["notes"][:2]
    assert preview_state == real_state == "success"  # Airflow's grid: both green …
    # … the notes tell them apart: a preview wrote nothing; the real run is a Warning (a quarantined line).
    assert preview.startswith("Preview — nothing written, 1 quarantined\n")
    assert real.startswith("Warning — 1 quarantined, 2 posted\n")
    assert "[channelsync run 2: items and errors](http://airflow.example:8080/plugin/channelsync/channelsync/runs/2)" \
        in real


def test_a_failed_run_s_note_names_the_failure(dag_runs: dict[str, Any]) -> None:
    _, _, state, note = dag_runs["notes"][2]
    assert state == "failed"
    # Markdown-escaped vendor text: "load: [TEST_PARTITION_BROKEN] line-2: refused as a whole (test)"
    assert note.startswith("Failure — load: \\[TEST\\_PARTITION\\_BROKEN\\] line-2: refused as a whole \\(test\\); ")
    # line-1 was posted by the run before (exactly once per tenant): unchanged, not shown
    assert note.splitlines()[0].endswith("; 1 quarantined, 1 posted")
    assert note.endswith("(http://airflow.example:8080/plugin/channelsync/channelsync/runs/3)")


def test_a_failed_stage_alerts_once_not_again_from_the_report_or_the_dag_run(dag_runs: dict[str, Any]) -> None:
    assert dag_runs["alerts"] == [
        ["test_posting_mapped", "[channelsync] acme test_posting_mapped: load failed (TEST_PARTITION_BROKEN)", "error"]]


def test_a_detached_expired_run_is_noted_without_raising(dag_runs: dict[str, Any]) -> None:
    # The scheduler's loop died on this once: the listener read an attribute of an expired, detached run.
    assert dag_runs["expired"] is True
    assert dag_runs["renoted"] and dag_runs["renoted"].startswith(("Success", "Warning")), dag_runs["renoted"]
