"""Approval gates (issue #12) through Airflow itself: the real DAG builder, ``dag.test()``, and decisions made
the way Airflow makes them — a person's answer through Airflow's REST API (``PATCH …/hitlDetails``, as the
Required actions page sends it, as the user ``alice``), a timeout by the scheduler's own sweep
(``SchedulerJobRunner.check_awaiting_input_timeouts``).

One subprocess (its own AIRFLOW_HOME, the plugins folder loaded so DAG-run notes are written) runs every
scenario in turn and prints what it saw; the tests read that report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

# ~80 s on a loaded 2-core machine, nearly all of it the fixture (Airflow's first task, its API app, GX)
pytestmark = [pytest.mark.airflow, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

DAG_FILE = textwrap.dedent("""
    # An Airflow DAG file (the DagBag only reads files that say so).
    from channelsync.config import IntegrationConfig, TemplateConfig
    from channelsync.templates.dag_builder import build_dag
    from tests.dags.approval_template import SPEC
    from tests.dags.posting_template import MAPPED_SPEC

    APPROVALS = {
        "always": {"mode": "always", "approvers": ["alice"]},
        "reject": {"mode": "threshold", "thresholds": {"changed_share": 0.2}},  # 1 of 4 changed: crossed
        "timeout": {"mode": "always", "timeout_hours": 0.0005},  # 1.8 s
        "quiet": {"mode": "threshold", "thresholds": {"changed_share": 0.5}},  # not crossed
        "firstruns": {"mode": "first_runs", "first_runs": 1},
    }
    DAGS = {}
    for name, approval in APPROVALS.items():
        integration = IntegrationConfig(name=name, psa={"system": "autotask", "conn_id": "unused"}, distributors={},
                                        approval=approval, templates={SPEC.name: TemplateConfig()})
        DAGS[name] = globals()[f"dag_{name}"] = build_dag(integration, SPEC.name, integration.templates[SPEC.name])
    # A load mapped per partition (billing's customers, orders' POs): the gate holds every one of them.
    mapped = IntegrationConfig(name="mapped", psa={"system": "autotask", "conn_id": "unused"}, distributors={},
                               approval={"mode": "always"}, templates={MAPPED_SPEC.name: TemplateConfig()})
    DAGS["mapped"] = dag_mapped = build_dag(mapped, MAPPED_SPEC.name, mapped.templates[MAPPED_SPEC.name])
""")

DRIVER = textwrap.dedent("""
    import json, os, sys, threading, time
    from datetime import datetime, timedelta, timezone
    sys.path.insert(0, os.environ["DAGS_DIR"])
    from approval_dags import DAGS
    from sqlalchemy import select
    from airflow.models.dagrun import DagRun
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from channelsync.state.db import session_scope, upgrade
    from channelsync.state.models import SyncApproval, SyncRun
    # What the helper threads use, imported and configured here, before any thread starts: a thread importing
    # Airflow's API app while the main thread's first ORM query configures the mappers (whose hook imports
    # every Airflow model) deadlocked the driver on the import lock against SQLAlchemy's configure lock.
    from fastapi.testclient import TestClient
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    upgrade()
    GATE = "approve_plan"
    seen = {}

    def watchdog(seconds):  # a gate nobody answers would wait for ever: end the process, saying so
        time.sleep(seconds)
        print(json.dumps({"error": f"still running after {seconds} s", "seen": seen}, default=str), flush=True)
        os._exit(3)

    threading.Thread(target=watchdog, args=(int(os.environ.get("WATCHDOG_S", "540")),), daemon=True).start()

    def gate_waiting(dag_id):
        while True:
            with create_session() as session:
                ti = session.scalars(select(TI).where(TI.dag_id == dag_id, TI.task_id == GATE,
                                                      TI.state == TaskInstanceState.AWAITING_INPUT)).first()
                if ti is not None:
                    return ti.run_id, ti.trigger_timeout
            time.sleep(0.2)

    # Airflow's own REST API app, in this process (it shares the metadata database), built here in the main
    # thread: building it imports its routes, which a helper thread must not do while a DAG run configures.
    API = TestClient(create_app("core"))

    def answer(dag_id, option, comment):
        # As Airflow's Required actions page does: the REST API, signed in as alice.
        client = API
        run_id, _ = gate_waiting(dag_id)
        token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="alice", role="admin"))
        url = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{GATE}/-1/hitlDetails"
        headers = {"Authorization": f"Bearer {token}"}
        asked = client.get(url, headers=headers).json()
        done = client.patch(url, headers=headers,
                            json={"chosen_options": [option], "params_input": {"comment": comment}})
        seen[dag_id] = {"asked": asked, "status": done.status_code, "answer": done.json()}

    def time_out(dag_id):
        # As the scheduler does: its sweep of requests past their deadline.
        _, deadline = gate_waiting(dag_id)
        time.sleep(max(0.0, (deadline - datetime.now(timezone.utc)).total_seconds()) + 0.2)
        SchedulerJobRunner(job=Job()).check_awaiting_input_timeouts()
        seen[dag_id] = {"timed_out": True}

    def run(name, *, respond=None, logical_date=None, preview=False):
        os.environ["POSTING_LOG"] = os.path.join(os.environ["LOGS"], f"{name}.log")
        dag = DAGS[name]
        helper = threading.Thread(target=respond[0], args=(dag.dag_id, *respond[1:])) if respond else None
        if helper:
            helper.start()
        started = time.monotonic()
        when = {"logical_date": logical_date, "run_after": logical_date} if logical_date else {}
        dag_run = dag.test(run_conf={"preview": preview}, **when)
        if helper:
            helper.join(60)
        info = {"dag_id": dag.dag_id, "run_id": dag_run.run_id, "state": str(dag_run.state),
                "seconds": round(time.monotonic() - started, 1)}
        wait()  # the DAG run's note, written by the plugin's listener
        return observe(info, os.environ["POSTING_LOG"])

    def observe(info, log):
        with create_session() as session:
            dag_run = session.scalars(select(DagRun).where(DagRun.dag_id == info["dag_id"],
                                                           DagRun.run_id == info["run_id"])).one()
            tis = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances(session=session)}
            gate = session.scalars(select(TI).where(TI.dag_id == info["dag_id"], TI.run_id == info["run_id"],
                                                    TI.task_id == GATE)).one()
            hitl = session.get(HITLDetail, gate.id)
            info.update(note=dag_run.note, tasks=tis, asked=hitl is not None,
                        responded_by=hitl.responded_by if hitl else None)
        with session_scope() as session:
            key = f"{info['dag_id']}/{info['run_id']}"
            sync_run = session.scalars(select(SyncRun).where(SyncRun.run_key == key)).one()
            approvals = [{"decision": a.decision, "decided_by": a.decided_by, "comment": a.comment, "reason": a.reason,
                          "reasons": a.reasons, "summary": a.summary}
                         for a in session.scalars(select(SyncApproval).where(SyncApproval.run_id == sync_run.id))]
            info.update(run=sync_run.id, status=sync_run.status, counts=sync_run.counts, error_code=sync_run.error_code,
                        error=sync_run.error_message, approvals=approvals)
        info["written"] = open(log).read().split() if os.path.exists(log) else []
        return info

    from channelsync_ui.run_notes import wait
    L1 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    report = {
        "approved": run("always", respond=(answer, "Approve", "looks right"), logical_date=L1),
        "rerun": run("always", logical_date=L1),  # the same DAG run again (cleared): same plan, already approved
        "preview": run("always", preview=True),
        "rejected": run("reject", respond=(answer, "Reject", "prices look wrong")),
        "timed_out": run("timeout", respond=(time_out,)),
        "quiet": run("quiet"),
        "first": run("firstruns", respond=(answer, "Approve", None)),
        "second": run("firstruns"),
        "mapped_rejected": run("mapped", respond=(answer, "Reject", None)),
        "mapped_approved": run("mapped", respond=(answer, "Approve", None)),
    }
    print(json.dumps({"runs": report, "seen": seen}, default=str))
""")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("approval")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "CHANNELSYNC_"))}
    env.update(
        AIRFLOW_HOME=str(home / "airflow"), CHANNELSYNC_HOME=str(home / "cs"),
        CHANNELSYNC_STATE_URL=f"sqlite:///{home / 'state.db'}", CHANNELSYNC_STAGING_URL=f"file://{home / 'staging'}",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"), AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__API__BASE_URL="http://airflow.example:8080",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="alice:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__API_AUTH__JWT_SECRET="channelsync-approval-tests-only-" + "0123456789abcdef" * 4,
        PYTHONPATH=str(ROOT), DAGS_DIR=str(home / "dags"), LOGS=str(home),
    )
    (home / "dags").mkdir()
    (home / "dags" / "approval_dags.py").write_text(DAG_FILE)
    (home / "driver.py").write_text(DRIVER)
    migrate = subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True,
                             timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    result = subprocess.run([sys.executable, str(home / "driver.py")], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def test_always_approved_the_plan_is_written_and_the_decision_recorded(report: dict[str, Any]) -> None:
    run, seen = report["runs"]["approved"], report["seen"]["always__test_reprice"]
    assert seen["status"] == 200, seen
    assert run["asked"] and run["responded_by"] == {"id": "alice", "name": "alice"}
    assert run["state"] == "success" and run["status"] == "success" and run["counts"] == {"updated": 1}
    assert run["written"] == ["line-1"]
    [approval] = run["approvals"]
    assert approval["decision"] == "approved" and approval["decided_by"] == "alice"
    assert approval["comment"] == "looks right" and "approved by alice at" in approval["reason"]
    # What the person read in Required actions: the plan's counts, why, and where its diff is.
    asked = seen["asked"]
    assert asked["subject"].startswith("Approve the plan of always · test_reprice (run 1): ")
    assert "1 update" in asked["subject"] and "3 unchanged" in asked["subject"]
    assert "approval mode always" in asked["body"] and "| update | 1 |" in asked["body"]
    assert asked["assigned_users"] == [{"id": "alice", "name": "alice"}]  # approvers: only alice may answer
    assert ("http://airflow.example:8080/dags/always__test_reprice/runs/" in asked["body"]
            and "/tasks/reconcile" in asked["body"])


def test_a_rerun_of_the_approved_plan_does_not_ask_again(report: dict[str, Any]) -> None:
    first, rerun = report["runs"]["approved"], report["runs"]["rerun"]
    assert rerun["run_id"] == first["run_id"] and rerun["run"] == first["run"]  # the same run, all tasks again
    assert not rerun["asked"] and rerun["tasks"]["approve_plan"] == "success"
    assert rerun["state"] == "success" and rerun["written"] == ["line-1"]  # not written twice (the ledger)
    assert [a["decision"] for a in rerun["approvals"]] == ["approved"]


def test_rejected_nothing_is_written_and_the_run_is_a_warning_with_the_reason(report: dict[str, Any]) -> None:
    run, seen = report["runs"]["rejected"], report["seen"]["reject__test_reprice"]
    assert seen["status"] == 200 and run["asked"]
    assert "1 of 4 planned item(s) updated or deactivated (25.0%): above the threshold 20.0%" in seen["asked"]["body"]
    assert run["written"] == [] and run["tasks"]["load"] == "skipped"
    assert run["state"] == "success" and run["status"] == "warning"  # never a Failure
    assert run["counts"] == {"plan_rejected": 1}
    assert run["error_code"] == "APPROVAL_REJECTED"
    assert "plan rejected by alice at" in run["error"] and "prices look wrong" in run["error"]
    assert run["note"].startswith("Warning — 1 plan rejected\n"), run["note"]
    [approval] = run["approvals"]
    assert approval["decision"] == "rejected" and approval["decided_by"] == "alice"


def test_timed_out_nothing_is_written_and_the_run_is_a_warning(report: dict[str, Any]) -> None:
    run = report["runs"]["timed_out"]
    assert run["asked"] and run["responded_by"] is None
    assert run["written"] == [] and run["tasks"]["load"] == "skipped" and run["tasks"]["approve_plan"] == "success"
    assert run["state"] == "success" and run["status"] == "warning" and run["counts"] == {"approval_timed_out": 1}
    assert run["error_code"] == "APPROVAL_TIMED_OUT" and "nobody answered within 0.0005 h" in run["error"]
    assert run["note"].startswith("Warning — 1 approval timed out\n"), run["note"]
    assert [a["decision"] for a in run["approvals"]] == ["timed_out"]


def test_a_threshold_not_crossed_asks_nobody(report: dict[str, Any]) -> None:
    run = report["runs"]["quiet"]
    assert not run["asked"] and run["approvals"] == [] and run["tasks"]["approve_plan"] == "success"
    assert run["status"] == "success" and run["written"] == ["line-1"]


def test_first_runs_asks_only_until_that_many_runs_were_approved(report: dict[str, Any]) -> None:
    first, second = report["runs"]["first"], report["runs"]["second"]
    assert first["asked"] and [a["decision"] for a in first["approvals"]] == ["approved"]
    assert not second["asked"] and second["approvals"] == [] and second["status"] == "success"
    assert second["run"] != first["run"]


def test_a_preview_never_asks(report: dict[str, Any]) -> None:
    run = report["runs"]["preview"]
    assert not run["asked"] and run["approvals"] == [] and run["status"] == "preview"


def test_a_mapped_load_is_held_as_a_whole_and_loaded_once_approved(report: dict[str, Any]) -> None:
    rejected, approved = report["runs"]["mapped_rejected"], report["runs"]["mapped_approved"]
    assert rejected["asked"] and rejected["written"] == [] and rejected["status"] == "warning"
    assert rejected["tasks"]["partitions"] == "skipped" and rejected["tasks"]["load"] == "skipped"
    assert rejected["counts"] == {"plan_rejected": 1, "quarantined": 1}
    assert approved["asked"] and approved["status"] == "warning"  # the quarantined line
    assert approved["counts"] == {"posted": 2, "quarantined": 1}
    assert sorted(approved["written"]) == ["line-1", "line-2"]  # two mapped partitions: either may finish first
