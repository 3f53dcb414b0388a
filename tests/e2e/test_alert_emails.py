"""Alert e-mails through a real SMTP server on loopback (aiosmtpd): one message per run that needs a look,
to the integration's lists (and the template's: orders to purchasing, billing to finance), with the run's
status, each code's explanation, action and first responder, and the status page's link — no secret in it.
A delivery the server refuses is retried, recorded, and sent again later; an Airflow run whose task fails
alerts once, from its report task, not from the failed task or the DAG run as well."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channelsync.alerts import notify_run
from channelsync.config import IntegrationConfig, load_config
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from channelsync.state import repository
from channelsync.state.db import session_scope
from channelsync.state.models import AlertLog
from tests.dags.secret_scan import secrets_of_settings
from tests.e2e.conftest import RunTemplate
from tests.e2e.smtp_sink import Received, Sink, smtp_env

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "config" / "integrations.yaml")
BASE = "http://airflow.example:8080"
TEAM, PURCHASING, FINANCE = "msp-integrations@example.com", "msp-purchasing@example.com", "msp-finance@example.com"


def alert_rows(state_store: str) -> list[AlertLog]:
    with session_scope(state_store) as session:
        return list(session.scalars(select(AlertLog).order_by(AlertLog.id)))


def no_secret_in(message: Received) -> None:
    raw = message.message.as_string()
    leaked = {where for secret, where in secrets_of_settings(ROOT / "airflow_settings.yaml").items()
              if len(secret) >= 6 and secret in raw}
    assert leaked == set(), f"secrets in the e-mail: {sorted(leaked)}"


def closed_run(state_store: str, integration: str, template: str, key: str, *, status: str,
               items: list[dict[str, Any]] = (), error: tuple[str, str] | None = None) -> int:  # type: ignore[assignment]
    """A run as the stages leave it in the state store (for what needs no sandbox)."""
    run_id = repository.start_run(state_store, integration=integration, template=template, run_key=key,
                                  preview=False)
    if items:
        repository.replace_items(state_store, run_id, "load", [{"entity_type": "customer", **i} for i in items])
    if error:
        repository.record_error(state_store, run_id, error_code=error[0], error_message=error[1])
    repository.finish_run(state_store, run_id, status=status, counts=repository.item_counts(state_store, run_id),
                          clear_error=error is None)
    return run_id


# -- a failed run -----------------------------------------------------------------------------------------

def test_a_failed_run_is_one_email_to_the_template_s_lists_with_the_catalog_s_advice(
    sandbox: SandboxControl, run_template: RunTemplate, state_store: str, mail: Sink
) -> None:
    sandbox.control("autotask", "user", json={"locked": True})
    summary = run_template("submit_orders", "demo-autotask")
    assert summary["status"] == "failure"
    run_id = int(summary["run_id"])
    assert notify_run(CONFIG.get("demo-autotask"), "submit_orders", run_id) == "sent"
    assert notify_run(CONFIG.get("demo-autotask"), "submit_orders", run_id) is None  # once per run

    [message] = mail.wait_for(1)
    assert mail.wait_for(2, timeout=1.0) == [message]
    assert message.rcpt_tos == [TEAM, PURCHASING]  # the integration's list and submit_orders' own
    assert message.subject == "[channelsync] demo-autotask submit_orders: extract failed (AUTOTASK_USER_LOCKED)"
    assert message.mail_from == "channelsync@msp.example" and message.message["Auto-Submitted"] == "auto-generated"
    text = message.text
    assert "Status: Failure — extract: [AUTOTASK_USER_LOCKED]" in text
    assert f"Status page: {BASE}/plugin/channelsync/channelsync/runs/{run_id}" in text
    assert "1. [AUTOTASK_USER_LOCKED] The Autotask API user is locked" in text
    assert "What it means: The Autotask API user is locked" in text
    assert "What to do: In Autotask, Admin → Resources (Users): edit the API user, uncheck Locked" in text
    assert "Who acts first: PSA admin · a rerun fixes it once the cause is gone: yes" in text
    no_secret_in(message)
    [row] = alert_rows(state_store)
    assert (row.run_id, row.status, row.severity, row.error_code, row.recipients) == (
        run_id, "sent", "error", "AUTOTASK_USER_LOCKED", [TEAM, PURCHASING])


def test_the_same_failure_next_run_is_not_sent_again_until_the_repeat_hours_pass(
    state_store: str, mail: Sink
) -> None:
    integration = CONFIG.get("demo-connectwise")
    error = ("CW_AUTH_FAILED", "extract: ConnectWise refused the API keys")
    first = closed_run(state_store, integration.name, "catalog_sync", "r/1", status="failure", error=error)
    second = closed_run(state_store, integration.name, "catalog_sync", "r/2", status="failure", error=error)
    assert notify_run(integration, "catalog_sync", first) == "sent"
    assert notify_run(integration, "catalog_sync", second) is None  # nothing new since the first
    other = closed_run(state_store, integration.name, "catalog_sync", "r/3", status="failure",
                       error=("CW_FORBIDDEN", "reconcile: the member's role may not read products"))
    assert notify_run(integration, "catalog_sync", other) == "sent"  # a new code: at once
    fourth = closed_run(state_store, integration.name, "catalog_sync", "r/4", status="failure",
                        error=("CW_FORBIDDEN", "reconcile: the member's role may not read products"))
    every_run = integration.model_copy(update={"alerts": integration.alerts.model_copy(update={"repeat_hours": 0})})
    assert notify_run(every_run, "catalog_sync", fourth) == "sent"  # repeat_hours 0: every run
    assert [m.subject.rsplit(" ", 1)[-1] for m in mail.wait_for(3)] == ["(CW_AUTH_FAILED)", "(CW_FORBIDDEN)",
                                                                        "(CW_FORBIDDEN)"]


def test_billing_failures_go_to_finance_too_and_a_warning_run_lists_its_items(state_store: str, mail: Sink) -> None:
    integration = CONFIG.get("demo-autotask")
    run_id = closed_run(state_store, integration.name, "subscription_billing", "b/1", status="warning", items=[
        {"source_key": "tenant-1", "outcome": "failed", "error_code": "CONTRACT_DATE_OUTSIDE",
         "error_message": "ContractServiceAdjustment effectiveDate must be between the start date and end date"},
        {"source_key": "tenant-2", "outcome": "created"},
        {"source_key": "tenant-3", "outcome": "conflict", "error_code": "QUALITY_ROW_QUARANTINED",
         "error_message": "dashboard only: not in the e-mail"},
    ])
    assert notify_run(integration, "subscription_billing", run_id) == "sent"
    [message] = mail.wait_for(1)
    assert message.rcpt_tos == [TEAM, FINANCE]
    assert message.subject == ("[channelsync] demo-autotask subscription_billing: 1 item(s) need a look "
                               "(CONTRACT_DATE_OUTSIDE)")
    assert "tenant-1: ContractServiceAdjustment effectiveDate must be between" in message.text
    assert "Who acts first: MSP billing/finance" in message.text
    assert "tenant-3" not in message.text and "QUALITY_ROW_QUARANTINED" not in message.text
    assert "Status: Warning — " in message.text


def test_a_run_with_nothing_to_act_on_sends_nothing(state_store: str, mail: Sink) -> None:
    integration = CONFIG.get("demo-autotask")
    fine = closed_run(state_store, integration.name, "catalog_sync", "c/1", status="success",
                      items=[{"source_key": "p-1", "outcome": "created"}])
    assert notify_run(integration, "catalog_sync", fine) is None
    assert mail.wait_for(1, timeout=0.5) == [] and alert_rows(state_store) == []


# -- the templates' own alerts, through the same path -----------------------------------------------------

def test_a_stuck_order_is_one_email_to_purchasing(
    sandbox: SandboxControl, sandbox_server: SandboxServer, run_template: RunTemplate, state_store: str, mail: Sink
) -> None:
    from tests.e2e.orders_probe import OrderDesk

    desk = OrderDesk(sandbox, "demo-autotask", sandbox_server.url)
    old, _fresh = desk.make_valid(2)
    sandbox.edit_record("autotask", "PurchaseOrders", desk.psa_id(old), {"submitDateTime": "2026-01-01T08:00:00Z"})
    sandbox.set_faults({"kind": "status", "status": 503, "system": "tdsynnex", "method": "POST",
                        "path": "SynnexXML/PO$"})
    summary = run_template("submit_orders", "demo-autotask", stuck_after_hours=4)
    assert summary["counts"].get("stuck") == 1, summary
    notify_run(CONFIG.get("demo-autotask"), "submit_orders", int(summary["run_id"]))
    [message] = mail.wait_for(1)
    assert mail.wait_for(2, timeout=1.0) == [message]
    assert message.rcpt_tos == [TEAM, PURCHASING]
    assert "[ORDER_STUCK]" in message.text and old in message.text
    assert "Who acts first: PSA admin" in message.text
    no_secret_in(message)
    stuck = [row for row in alert_rows(state_store) if row.error_code == "ORDER_STUCK"]
    assert [(row.status, row.run_id) for row in stuck] == [("emailed", summary["run_id"])]


def test_a_price_change_is_one_email_with_the_report(
    sandbox: SandboxControl, run_template: RunTemplate, state_store: str, mail: Sink
) -> None:
    from tests.e2e.test_service_catalog_sync import OFFERS, change_price

    integration = CONFIG.get("demo-autotask")
    first = run_template("service_catalog_sync", "demo-autotask")
    notify_run(integration, "service_catalog_sync", int(first["run_id"]))
    before = len(mail.wait_for(1, timeout=1.0))  # the seeded hand-made PC_ service clashes: that is e-mailed
    offer = OFFERS[6]
    change_price(sandbox, "crayon", offer.nce_id, float(offer.unit_cost) + 1.0, float(offer.rrp) + 2.0)
    second = run_template("service_catalog_sync", "demo-autotask")
    assert second["counts"].get("updated", 0) >= 1, second
    assert notify_run(integration, "service_catalog_sync", int(second["run_id"])) == "sent"
    received = mail.wait_for(before + 1)
    assert len(received) == before + 1
    message = received[-1]
    assert message.rcpt_tos == [TEAM]  # service_catalog_sync has no list of its own
    assert "service price change(s)" in message.subject
    assert "[SERVICE_PRICES_CHANGED]" in message.text and "Who acts first: MSP billing/finance" in message.text
    no_secret_in(message)


# -- delivery -----------------------------------------------------------------------------------------------

def test_a_refused_delivery_is_retried_then_recorded_failed_and_sent_with_the_next_alert(
    state_store: str, mail: Sink
) -> None:
    integration = CONFIG.get("demo-connectwise")

    def failed_run(template: str, code: str) -> int:
        return closed_run(state_store, integration.name, template, f"{template}/1", status="failure",
                          error=(code, f"extract: {code} (test)"))

    mail.refuse_next(2)  # the server is busy twice: the third attempt gets through
    assert notify_run(integration, "order_status", failed_run("order_status", "TDS_UNREACHABLE")) == "sent"
    assert (mail.refused, len(mail.wait_for(1))) == (2, 1)

    mail.refuse_next(3)  # every attempt refused: recorded, not lost
    refused = failed_run("price_availability", "TDS_XML_ERROR")
    assert notify_run(integration, "price_availability", refused) == "failed"
    assert [r.status for r in alert_rows(state_store)] == ["sent", "failed"]
    assert len(mail.wait_for(2, timeout=1.0)) == 1
    # its report run again (a person clears it): the same message row is sent, not a second one
    assert notify_run(integration, "price_availability", refused) == "sent"
    assert [r.status for r in alert_rows(state_store)] == ["sent", "sent"]

    mail.refuse_next(3)
    assert notify_run(integration, "submit_orders", failed_run("submit_orders", "TDS_PO_REJECTED")) == "failed"
    # the integration's next alert gets through, and the refused one goes right after it
    assert notify_run(integration, "catalog_sync", failed_run("catalog_sync", "TDS_FLATFILE_MISSING")) == "sent"
    received = mail.wait_for(4)
    assert [m.subject.rsplit(" ", 1)[-1] for m in received] == [
        "(TDS_UNREACHABLE)", "(TDS_XML_ERROR)", "(TDS_FLATFILE_MISSING)", "(TDS_PO_REJECTED)"]
    assert [r.status for r in alert_rows(state_store)] == ["sent"] * 4
    assert received[3].rcpt_tos == [TEAM, PURCHASING]


def test_no_list_configured_records_the_alert_without_sending(state_store: str, mail: Sink) -> None:
    integration = IntegrationConfig.model_validate({
        "name": "quiet", "psa": {"system": "autotask", "conn_id": "x"}, "distributors": {},
        "templates": {"catalog_sync": {}}})
    run_id = closed_run(state_store, "quiet", "catalog_sync", "q/1", status="failure",
                        error=("CONFIG_INVALID", "extract: bad option"))
    assert notify_run(integration, "catalog_sync", run_id) == "no_recipients"
    assert mail.wait_for(1, timeout=0.5) == []
    assert [(r.status, r.subject) for r in alert_rows(state_store)] == [
        ("no_recipients", "[channelsync] quiet catalog_sync: extract failed (CONFIG_INVALID)")]


# -- through Airflow: one message for a failed run, not one per failed task -------------------------------

DAG_FILE = textwrap.dedent("""
    # An Airflow DAG file (the DagBag only reads files that say so).
    import json
    from channelsync.config import IntegrationConfig, TemplateConfig
    from channelsync.templates.dag_builder import build_dag
    from tests.dags.posting_template import MAPPED_SPEC

    integration = IntegrationConfig(
        name="acme", psa={"system": "autotask", "conn_id": "unused"}, distributors={},
        alerts={"emails": ["ops@acme.example"], "templates": {MAPPED_SPEC.name: {"emails": ["finance@acme.example"]}}},
        templates={MAPPED_SPEC.name: TemplateConfig(options={"fail_partition": "line-2"})})
    mapped = build_dag(integration, MAPPED_SPEC.name, integration.templates[MAPPED_SPEC.name])

    if __name__ == "__main__":
        from sqlalchemy import select
        from channelsync.state.db import session_scope, upgrade
        from channelsync.state.models import AlertLog

        upgrade()
        run = mapped.test(run_conf={"preview": False})
        with session_scope() as session:
            alerts = [(a.subject, a.status, a.recipients) for a in session.scalars(select(AlertLog))]
        print(json.dumps({"state": str(run.state), "alerts": alerts}))
""")


@pytest.mark.airflow
@pytest.mark.timeout(900)  # airflow db migrate and a DAG run in subprocesses: minutes on a busy machine
def test_through_airflow_a_failed_task_alerts_once_from_the_report(
    tmp_path: Path, mail: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.plugin.conftest import airflow_env

    env = airflow_env(tmp_path)
    env.update(AIRFLOW__CORE__DAGS_FOLDER=str(tmp_path / "dags"), POSTING_LOG=str(tmp_path / "sent.log"))
    env.update({name: value for name, value in smtp_env_of(mail).items()})
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "alert_dag.py").write_text(DAG_FILE)
    airflow = Path(sys.executable).parent / "airflow"
    migrate = subprocess.run([str(airflow), "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    result = subprocess.run([sys.executable, str(tmp_path / "dags" / "alert_dag.py")], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(next(line for line in reversed(result.stdout.splitlines()) if line.startswith('{"state"')))
    assert report["state"].endswith("failed")
    subject = "[channelsync] acme test_posting_mapped: load failed (TEST_PARTITION_BROKEN)"
    assert report["alerts"] == [[subject, "sent", ["ops@acme.example", "finance@acme.example"]]]
    [message] = mail.wait_for(1)
    assert mail.wait_for(2, timeout=2.0) == [message]
    assert message.subject == subject and message.rcpt_tos == ["ops@acme.example", "finance@acme.example"]
    assert "line-2: refused as a whole (test)" in message.text
    assert "/plugin/channelsync/channelsync/runs/" in message.text and "/dags/acme__test_posting_mapped/runs/" \
        in message.text


def smtp_env_of(mail: Sink) -> dict[str, str]:
    """The sink's settings as the fixture put them in this process's environment."""
    import os

    return {name: os.environ[name] for name in smtp_env(0)}


# -- the configuration --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("alerts", "message"), [
    ("{emails: [not-an-address]}", "alerts.emails.0: String should match pattern"),
    ("{emails: ['Ops <ops@x.example>']}", "alerts.emails.0: String should match pattern"),
    ("{emails: [ops@x.example], templates: {catalog_sync: {emails: []}}}",
     "alerts.templates.catalog_sync.emails: List should have at least 1 item"),
    ("{emails: [ops@x.example], templates: {submit_orders: {emails: [p@x.example]}}}",
     "alerts.templates names submit_orders, not configured under templates (configured: catalog_sync)"),
    ("{emails: [ops@x.example], repeat_hours: -1}", "alerts.repeat_hours: Input should be greater than or equal"),
])
def test_alert_lists_are_validated_with_the_integration_and_field_named(tmp_path: Path, alerts: str,
                                                                        message: str) -> None:
    from channelsync.errors import ConfigError

    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(f"""
        integrations:
          - name: acme
            psa: {{system: autotask, conn_id: at}}
            distributors: {{tdsynnex: {{xml_conn_id: tds}}}}
            alerts: {alerts}
            templates: {{catalog_sync: {{}}}}
    """))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "integration 'acme'" in str(raised.value) and message in str(raised.value), str(raised.value)


def test_a_template_list_adds_to_the_integration_s_or_replaces_it() -> None:
    from channelsync.config import AlertConfig

    alerts = AlertConfig.model_validate({"emails": [TEAM], "templates": {
        "subscription_billing": {"emails": [FINANCE, TEAM.upper()]},
        "submit_orders": {"emails": [PURCHASING], "replace": True}}})
    assert alerts.recipients("subscription_billing") == [TEAM, FINANCE]  # each address once
    assert alerts.recipients("submit_orders") == [PURCHASING]
    assert alerts.recipients("catalog_sync") == [TEAM]
