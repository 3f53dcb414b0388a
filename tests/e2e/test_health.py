"""The health template on the sandbox: every configured system checked (authenticate + one read), latency
and the Autotask API budget recorded; a system answering 503 is down, the run a Failure, the outage
e-mailed once with the catalog's first responder, and the recovery once more — not every five minutes."""

from __future__ import annotations

from pathlib import Path

from channelsync.alerts import notify_run
from channelsync.config import load_config
from channelsync.sandbox.control_client import SandboxControl
from channelsync.state import repository
from channelsync.templates.health import status
from tests.e2e.conftest import RunTemplate
from tests.e2e.smtp_sink import Sink

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "config" / "integrations.yaml")
AUTOTASK_SYSTEMS = {"autotask", "tdsynnex_xml", "tdsynnex_flatfile", "tdsynnex_ion", "crayon"}


def check(run_template: RunTemplate, integration: str = "demo-autotask") -> dict[str, object]:
    """One health run as Airflow runs it: the stages, then the report's alert."""
    summary = run_template("health", integration)
    notify_run(CONFIG.get(integration), "health", int(summary["run_id"]))  # type: ignore[call-overload]
    return summary


def items(state_store: str, run_id: object) -> dict[str, dict[str, object]]:
    return {item["source_key"]: item for item in repository.list_items(state_store, int(run_id))}  # type: ignore[call-overload]


def test_every_configured_system_is_checked_with_latency_and_the_autotask_budget(
    sandbox: SandboxControl, run_template: RunTemplate, state_store: str, mail: Sink
) -> None:
    summary = check(run_template)
    assert summary["status"] == "no_change" and summary["counts"] == {"up": len(AUTOTASK_SYSTEMS)}, summary
    recorded = items(state_store, summary["run_id"])
    assert set(recorded) == AUTOTASK_SYSTEMS
    assert all(item["outcome"] == "up" and item["error_code"] is None for item in recorded.values())
    states = status.latest(state_store, "demo-autotask")
    assert all(state.latency_ms is not None for state in states.values())
    budget = states["autotask"]
    assert budget.budget_limit == 10_000 and budget.budget_left is not None and 0 < budget.budget_left <= 10_000
    assert states["crayon"].budget_limit is None  # only Autotask publishes its budget
    # one cheap read per system: Autotask's ThresholdInformation, never a write anywhere
    assert not [r for r in sandbox.requests() if r["method"] in ("PUT", "PATCH", "DELETE")]
    assert summary["api_calls"].get("autotask", 0) <= 4  # type: ignore[attr-defined]
    assert mail.wait_for(0, timeout=0.5) == []  # all up: no e-mail

    connectwise = check(run_template, "demo-connectwise")
    assert set(items(state_store, connectwise["run_id"])) == {"connectwise", "tdsynnex_xml", "tdsynnex_flatfile",
                                                              "tdsynnex_ion", "pax8"}
    assert status.latest(state_store, "demo-connectwise")["connectwise"].budget_limit is None  # none published


def test_a_psa_answering_503_is_an_outage_alerted_once_then_a_recovery(
    sandbox: SandboxControl, run_template: RunTemplate, state_store: str, mail: Sink
) -> None:
    assert check(run_template)["status"] == "no_change"
    sandbox.set_faults({"kind": "status", "status": 503, "system": "autotask"})

    down = check(run_template)
    assert down["status"] == "failure" and down["counts"] == {"down": 1, "up": len(AUTOTASK_SYSTEMS) - 1}, down
    autotask = items(state_store, down["run_id"])["autotask"]
    assert (autotask["outcome"], autotask["error_code"]) == ("down", "AUTOTASK_SERVER_ERROR")
    [outage] = mail.wait_for(1)
    assert outage.subject == "[channelsync] demo-autotask health: autotask DOWN (AUTOTASK_SERVER_ERROR)"
    assert outage.rcpt_tos == ["msp-integrations@example.com"]
    assert "[AUTOTASK_SERVER_ERROR]" in outage.text and "Who acts first: PSA admin" in outage.text
    assert "What it means: " in outage.text and "What to do: Check Autotask's status page" in outage.text
    assert f"http://airflow.example:8080/plugin/channelsync/channelsync/runs/{down['run_id']}" in outage.text

    still = check(run_template)  # the next five-minute check: still down, nothing new
    assert still["status"] == "failure"
    assert len(mail.wait_for(2, timeout=1.0)) == 1

    sandbox.clear_faults()
    back = check(run_template)
    assert back["status"] == "no_change"
    _, recovery = mail.wait_for(2)
    assert recovery.subject.startswith("[channelsync] demo-autotask health: autotask recovered after ")
    assert "since" in recovery.subject
    assert status.latest(state_store, "demo-autotask")["autotask"].outcome == "up"


def test_a_distributor_down_names_the_distributor_s_support_first(
    sandbox: SandboxControl, run_template: RunTemplate, state_store: str, mail: Sink
) -> None:
    sandbox.set_faults({"kind": "status", "status": 503, "system": "pax8"})
    down = check(run_template, "demo-connectwise")
    assert down["status"] == "failure"
    assert items(state_store, down["run_id"])["pax8"]["error_code"] == "PAX8_SERVER_ERROR"
    [outage] = mail.wait_for(1)
    assert outage.subject == "[channelsync] demo-connectwise health: pax8 DOWN (PAX8_SERVER_ERROR)"
    assert "Who acts first: distributor support" in outage.text


def test_a_locked_autotask_api_user_goes_to_the_psa_admin(
    sandbox: SandboxControl, run_template: RunTemplate, state_store: str, mail: Sink
) -> None:
    sandbox.control("autotask", "user", json={"locked": True})
    down = check(run_template)
    assert down["status"] == "failure"
    assert items(state_store, down["run_id"])["autotask"]["error_code"] == "AUTOTASK_USER_LOCKED"
    [outage] = mail.wait_for(1)
    assert outage.subject == "[channelsync] demo-autotask health: autotask DOWN (AUTOTASK_USER_LOCKED)"
    assert "Who acts first: PSA admin" in outage.text and "uncheck Locked" in outage.text


def test_an_autotask_budget_nearly_used_is_degraded_with_what_is_left(
    sandbox: SandboxControl, run_template: RunTemplate, state_store: str, mail: Sink
) -> None:
    sandbox.control("autotask", "limits", json={"add_usage": 8_500})
    summary = check(run_template)
    assert summary["status"] == "warning" and summary["counts"].get("degraded") == 1, summary  # type: ignore[attr-defined]
    autotask = status.latest(state_store, "demo-autotask")["autotask"]
    # channelsync's own share (threshold_share 0.5) is spent, so the guard refused the read: the budget is
    # what it last read, and nothing is down
    assert (autotask.outcome, autotask.error_code) == ("degraded", "HEALTH_BUDGET_LOW")
    assert autotask.budget_limit == 10_000 and autotask.budget_left is not None and autotask.budget_left <= 1_500
    [warning] = mail.wait_for(1)  # the API budget near its limit is e-mailed, once
    assert warning.subject == "[channelsync] demo-autotask health: 1 item(s) need a look (HEALTH_BUDGET_LOW)"
    assert "Who acts first: PSA admin" in warning.text
    check(run_template)
    assert len(mail.wait_for(2, timeout=1.0)) == 1  # still low next check: not again


def test_a_preview_checks_but_never_alerts(sandbox: SandboxControl, run_template: RunTemplate, state_store: str,
                                           mail: Sink) -> None:
    sandbox.set_faults({"kind": "status", "status": 503, "system": "crayon"})
    summary = run_template("health", "demo-autotask", preview=True)
    assert summary["status"] == "preview"
    assert items(state_store, summary["run_id"])["crayon"]["outcome"] == "down"
    assert notify_run(CONFIG.get("demo-autotask"), "health", int(summary["run_id"])) is None
    assert mail.wait_for(1, timeout=0.5) == []
