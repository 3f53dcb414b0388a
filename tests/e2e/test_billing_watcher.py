"""The invoice watcher and the billing DAG's data-aware schedule.

The watcher announces each account's latest period the first time it looks (not the whole history),
nothing when nothing is new, and a newly published invoice once; the billing DAG is scheduled on the
watcher's Asset and takes the invoice to bill from the triggering event (or its ``invoice_id`` param).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from channelsync.config import load_config
from channelsync.connections import SettingsClientFactory, connections_from_settings
from channelsync.runs.context import RunContext
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from channelsync.templates.registry import TEMPLATES
from channelsync.templates.subscription_billing import sources
from channelsync.templates.subscription_billing.watcher import new_invoices
from tests.e2e import billing_world as world

ROOT = Path(__file__).resolve().parents[2]


def _context(server: SandboxServer, state_url: str, integration: str, **extra: Any) -> RunContext:
    config = load_config(ROOT / "config" / "integrations.yaml").get(integration)
    spec = TEMPLATES["subscription_billing"]
    return RunContext(
        integration=config, template="subscription_billing",
        options=spec.options_model.model_validate(config.templates["subscription_billing"].options),
        run_key=f"watch/{integration}", state_url=state_url,
        client_factory=SettingsClientFactory(connections_from_settings(ROOT / "airflow_settings.yaml",
                                                                       sandbox_url=server.url), state_url=state_url),
        **extra)


def test_watcher_announces_each_invoice_once(sandbox: SandboxControl, sandbox_server: SandboxServer,
                                             state_store: str) -> None:
    first = new_invoices(_context(sandbox_server, state_store, "demo-autotask"))
    # Crayon's latest published month is November 2026: its seat statement (and usage statement).
    assert first and {i["period_end"] for i in first} == {"2026-11-30"}
    assert all(i["distributor"] == "crayon" and i["account"] == "4401" for i in first)
    assert new_invoices(_context(sandbox_server, state_store, "demo-autotask")) == []
    preview = new_invoices(_context(sandbox_server, state_store, "demo-autotask", preview=True))
    assert preview == []
    world.publish(sandbox, "crayon")  # December
    (december_seats, *rest) = new_invoices(_context(sandbox_server, state_store, "demo-autotask"))
    assert {december_seats["period_end"], *(i["period_end"] for i in rest)} == {"2026-12-31"}
    assert new_invoices(_context(sandbox_server, state_store, "demo-autotask")) == []


def test_a_run_bills_what_its_trigger_or_param_names(sandbox_server: SandboxServer, state_store: str) -> None:
    event = {"invoices": [{"distributor": "crayon", "account": "4401", "invoice_id": "100004"}]}
    triggered = _context(sandbox_server, state_store, "demo-autotask", trigger_events=[event])
    assert sources.requested_invoices(triggered) == {"100004"}
    manual = _context(sandbox_server, state_store, "demo-autotask", params={"invoice_id": "100001, 100002"})
    assert sources.requested_invoices(manual) == {"100001", "100002"}
    scheduled = _context(sandbox_server, state_store, "demo-autotask")
    assert sources.requested_invoices(scheduled) == set()


def test_billing_dag_is_scheduled_on_the_watchers_asset() -> None:
    from channelsync.dagfactory import build_dags

    dags = build_dags(ROOT / "config" / "integrations.yaml")
    billing, watcher = dags["demo-autotask__subscription_billing"], dags["demo-autotask__subscription_billing__watcher"]
    (outlet,) = watcher.get_task("watch").outlets
    assert outlet.uri == "channelsync://demo-autotask/invoices"
    assert [a.uri for a in billing.timetable.asset_condition.objects] == [outlet.uri]
    assert "invoice_id" in billing.params
    # The demo's watcher looks after each service sync (watch_schedule "asset:service_catalog_sync").
    assert [a.uri for a in watcher.timetable.asset_condition.objects] == [
        "channelsync://demo-autotask/service_catalog_sync"]
