"""Run records as the templates write them (through the state repository), for the plugin's pages.

Two demo integrations over 30 days: a catalog sync that ended Warning (1 conflict, 221 created) with a
staged field-level diff, a price refresh whose last run failed with a vendor error text holding a
``<script>``, a submit_orders preview with its plan, a template that never ran, and records of an
integration no longer in the file. With ``billing``: a demo-autotask subscription_billing run with
staged invoice lines — a mapped customer that posted, a sandbox Crayon customer not mapped yet, and an
unmapped one whose distributor name holds a ``<script>`` and who has a line of a retired product
(:data:`RETIRED_SKU`, not on the price list) — and the mapped customer's mapping. The latest catalog sync
staged its extract (products of three category codes).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import update

from channelsync.state import repository
from channelsync.state.db import session_scope, upgrade
from channelsync.state.mappings import CustomerKey, set_mapping
from channelsync.state.models import SyncRun

# A vendor's error text as it may come back: markup, and a formula a spreadsheet would run.
HOSTILE = '=HYPERLINK("http://evil.example","open") <script>alert("pwned")</script> Autotask said no'


@dataclass
class BillingKeys:
    """Sandbox records a mapping can be checked against: a Crayon customer of demo-autotask's account
    whose Autotask company has exactly one active Recurring Service contract (and a second contract that
    is not one), plus keys that exist only in the seeded run."""

    unmapped: str  # a real Crayon customer, in the seeded run's lines, without a mapping
    unmapped_name: str  # its name at Crayon (the seeded lines carry it, as Crayon's invoice lines do)
    company: str
    contract: str  # the company's only active Recurring Service contract
    not_recurring: str  # another contract of the company, Time & Materials
    mapped: str  # mapped by the seed (by "alice"); posted in the seeded run
    hostile: str  # unmapped, its name holds markup
    invoice: str  # the invoice of the seeded run's lines


HOSTILE_NAME = 'Evil <script>alert("mapping")</script> Corp'
RETIRED_SKU = "OLD-PLAN/P1M"  # a "/" too: a SKU is a path segment of its override's page
RETIRED_NAME = 'Old <b>plan</b>'
CATALOG_CODES = {"NBK": 3, "MON": 2, "UPS": 1}  # products per category code in the latest catalog extract
ON = "2026-06-01"  # inside the sandbox contracts' dates (2025-01-01 – 2027-12-31), whatever today is


def billing_keys(sandbox_url: str) -> BillingKeys:
    from channelsync.sandbox.control_client import SandboxControl

    control = SandboxControl(sandbox_url)
    companies = {c["companyNumber"]: c["id"] for c in control.records("autotask", "Companies")
                 if c.get("companyNumber")}
    contracts: dict[int, list[dict[str, Any]]] = {}
    for contract in control.records("autotask", "Contracts"):
        contracts.setdefault(contract["companyID"], []).append(contract)

    def field(record: dict[str, Any], name: str) -> Any:  # Crayon answers in PascalCase
        return record.get(name, record.get(name[:1].upper() + name[1:]))

    records = control.records("crayon", "customertenants")
    tenants = {field(t, "reference"): f"crayon:{field(field(t, 'organization'), 'id')}:{field(t, 'id')}"
               for t in records}
    names = {f"crayon:{field(field(t, 'organization'), 'id')}:{field(t, 'id')}": str(field(t, "name")) for t in records}
    usable = [(reference, key) for reference, key in sorted(tenants.items()) if reference in companies]

    def recurring(company: int) -> list[int]:
        return [c["id"] for c in contracts.get(company, []) if c["contractType"] == 7 and c["status"] == 1]

    reference, key = next((r, k) for r, k in usable if len(recurring(companies[r])) == 1
                          and any(c["contractType"] == 1 for c in contracts[companies[r]]))
    company = companies[reference]
    other = next(c["id"] for c in contracts[company] if c["contractType"] == 1)
    mapped = next(k for _, k in usable if k != key)
    distributor, account, _ = key.split(":")
    return BillingKeys(unmapped=key, unmapped_name=names[key], company=str(company),
                       contract=str(recurring(company)[0]), not_recurring=str(other), mapped=mapped,
                       hostile=f"{distributor}:{account}:990001", invoice="INV-2026-05")


def _billing(url: str, staging: Path, keys: BillingKeys, started: datetime) -> int:
    import channelsync.templates.subscription_billing.steps  # noqa: F401  (declares billing's outcomes)

    folder = staging / "demo-autotask" / "subscription_billing" / "latest"
    diff = _write_diff(folder / "plan_diff.csv", [])
    lines = []
    for key, name, seats in ((keys.mapped, "Mapped Customer Ltd", 3), (keys.unmapped, keys.unmapped_name, 2),
                             (keys.hostile, HOSTILE_NAME, 1)):
        distributor, account, customer_id = CustomerKey.parse(key)
        lines += [{
            "source_key": f"{distributor}:{account}:{keys.invoice}:{customer_id}-{n}", "distributor": distributor,
            "account": account, "invoice_id": keys.invoice, "line_id": f"{customer_id}-{n}",
            "customer_id": customer_id, "customer_name": name, "customer_domain": None, "sku": "M365-E3",
            "product_name": "Microsoft 365 E3", "quantity": 1.0, "price_total": 36.0, "currency": "USD",
            "known_product": True,
        } for n in range(seats)]
    retired = {**lines[-1], "source_key": f"{lines[-1]['source_key']}-old", "line_id": "990001-old",
               "sku": RETIRED_SKU, "product_name": RETIRED_NAME, "price_total": 12.5, "known_product": False}
    pd.DataFrame([*lines, retired]).to_parquet(folder / "extract.parquet")
    unmapped = [{"entity_type": "subscription", "source_key": key, "outcome": "unmapped",
                 "error_code": "BILLING_CUSTOMER_UNMAPPED", "error_message": f"not mapped — {name}"}
                for key, name in ((keys.unmapped, keys.unmapped_name), (keys.hostile, HOSTILE_NAME))]
    run_id = _run(url, "demo-autotask", "subscription_billing", "asset_triggered__latest", started=started,
                  status="warning", items={"reconcile": unmapped}, plan_path=diff)
    posted = [{"entity_type": "subscription", "source_key": f"{keys.mapped}|M365-E3", "outcome": "posted"}]
    repository.replace_items(url, run_id, "load", posted, partition=keys.mapped)
    with session_scope(url) as session:
        session.execute(update(SyncRun).where(SyncRun.id == run_id).values(counts=repository.item_counts(url, run_id)))
    set_mapping(url, "demo-autotask", CustomerKey.parse(keys.mapped), company="30001", contract="40001", by="alice",
                customer_name="Mapped Customer Ltd")
    return run_id


@dataclass
class Seeded:
    warning_run: int  # demo-autotask catalog_sync, the latest
    failed_run: int  # demo-autotask price_availability, the latest
    preview_run: int  # demo-autotask submit_orders
    retired_run: int  # old-msp catalog_sync (no longer configured)
    connectwise_run: int  # demo-connectwise catalog_sync, Success
    billing_run: int | None = None  # demo-autotask subscription_billing (with ``billing`` keys)
    health_run: int | None = None  # demo-autotask health, the latest: Crayon down
    failed_alert: int | None = None  # alert_log: demo-autotask price_availability's e-mail, not delivered


def _run(url: str, integration: str, template: str, key: str, *, started: datetime, status: str,
         items: dict[str, list[dict[str, Any]]], preview: bool = False, duration: float = 42.0,
         error: tuple[str, str] | None = None, plan_path: str | None = None, api_calls: dict[str, int] | None = None
         ) -> int:
    run_id = repository.start_run(url, integration=integration, template=template,
                                  run_key=f"{integration}__{template}/{key}", preview=preview)
    for stage, rows in items.items():
        repository.replace_items(url, run_id, stage, rows)
    counts = repository.item_counts(url, run_id)
    if api_calls:
        repository.add_api_calls(url, run_id, api_calls)
    if error:
        repository.record_error(url, run_id, error_code=error[0], error_message=error[1])
    repository.finish_run(url, run_id, status=status, counts=counts, plan_path=plan_path, clear_error=error is None)
    with session_scope(url) as session:  # back-date it, as if it had run then
        session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
            started_at=started, finished_at=started + timedelta(seconds=duration), duration_s=duration))
    return run_id


def _product(key: str, outcome: str, **extra: Any) -> dict[str, Any]:
    return {"entity_type": "product", "source_key": key, "outcome": outcome, **extra}


def _write_diff(path: Path, rows: list[tuple[str, str, str, str, str, str]]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(["source_key", "op", "psa_id", "field", "before", "after"])
        writer.writerows(rows)
    return f"file://{path}"


def seed(url: str, staging: Path, *, now: datetime | None = None, billing: BillingKeys | None = None) -> Seeded:
    """The latest runs start within 2 hours of ``now``: within a daily schedule's grace, so no card is
    overdue whatever the time of day the tests run."""
    upgrade(url)
    now = now or datetime.now(UTC)
    day = timedelta(days=1)
    # 29 earlier daily catalog runs: mostly Success, a Warning now and then, one Failure.
    for back in range(29, 0, -1):
        status = "failure" if back == 12 else "warning" if back % 7 == 0 else "success"
        items = {"load": [_product(f"SKU-{back}-{n}", "updated", changed_fields=["price"])
                          for n in range(back % 5 + 1)]}
        if status == "warning":
            items["reconcile"] = [_product(f"SKU-{back}-c", "conflict", error_code="CATALOG_CONFLICT",
                                           error_message="edited in Autotask since channelsync wrote it")]
        _run(url, "demo-autotask", "catalog_sync", f"scheduled__{back}", started=now - back * day, status=status,
             items=items if status != "failure" else {}, duration=30.0 + back,
             error=("AUTOTASK_AUTH_FAILED", "extract: Autotask refused the API user") if status == "failure" else None,
             api_calls={"autotask": 40 + back})
    diff = _write_diff(staging / "demo-autotask" / "catalog_sync" / "latest" / "plan_diff.csv", [
        ("SKU-NEW-0", "create", "", "name", "", "HP EliteBook 840 G11"),
        ("SKU-NEW-0", "create", "", "price", "", "1299.00"),
        ("SKU-9", "update", "3001", "price", "1199.00", "1249.00"),
        ("SKU-CONFLICT", "update", "3002", "price", "15.00", "17.50"),
    ])
    created = [_product(f"SKU-NEW-{n}", "created", psa_id=str(5000 + n), changed_fields=["name", "price"])
               for n in range(221)]
    pd.DataFrame({"category_code": [code for code, n in CATALOG_CODES.items() for _ in range(n)]}).to_parquet(
        staging / "demo-autotask" / "catalog_sync" / "latest" / "extract.parquet")
    warning_run = _run(
        url, "demo-autotask", "catalog_sync", "scheduled__latest", started=now - timedelta(hours=2), status="warning",
        items={"reconcile": [_product("SKU-CONFLICT", "conflict", psa_id="3002", changed_fields=["price"],
                                      error_code="CATALOG_CONFLICT",
                                      error_message="price edited in Autotask since channelsync wrote it")],
               "load": [*created, _product("SKU-9", "updated", psa_id="3001", changed_fields=["price"]),
                        _product("SKU-10", "unchanged", psa_id="3003")]},
        plan_path=diff, api_calls={"autotask": 231}, duration=95.5)
    for back in range(3, 0, -1):
        _run(url, "demo-autotask", "price_availability", f"scheduled__{back}", started=now - back * day,
             status="success", items={"load": [_product("SKU-9", "updated", changed_fields=["cost"])]})
    failed_run = _run(
        url, "demo-autotask", "price_availability", "scheduled__latest", started=now - timedelta(minutes=20),
        status="failure", items={"load": [_product("SKU-9", "failed", error_code="AUTOTASK_VALIDATION",
                                                   error_message=HOSTILE)]},
        error=("AUTOTASK_VALIDATION", f"load: {HOSTILE}"), api_calls={"autotask": 3, "tdsynnex_xml": 2})
    plan = _write_diff(staging / "demo-autotask" / "submit_orders" / "preview" / "plan_diff.csv", [
        ("PO-1001", "submit", "", "order", "", "3 × HP EliteBook to ACME"),
        ("PO-1002", "submit", "", "order", "", "1 × Dock to Globex"),
    ])
    preview_run = _run(url, "demo-autotask", "submit_orders", "manual__preview", started=now - timedelta(hours=1),
                       status="preview", preview=True, items={}, plan_path=plan)
    connectwise_run = _run(url, "demo-connectwise", "catalog_sync", "scheduled__latest",
                           started=now - timedelta(hours=1), status="success",
                           items={"load": [_product("CW-1", "created", psa_id="77")]})
    retired_run = _run(url, "old-msp", "catalog_sync", "scheduled__1", started=now - 5 * day, status="success",
                       items={"load": [_product("OLD-1", "updated")]})
    billing_run = _billing(url, staging, billing, now - timedelta(hours=3)) if billing else None
    health_run = _health(url, now)
    failed_alert = _alerts(url, failed_run, connectwise_run, now)
    return Seeded(warning_run, failed_run, preview_run, retired_run, connectwise_run, billing_run, health_run,
                  failed_alert)


def _alerts(url: str, failed_run: int, connectwise_run: int, now: datetime) -> int:
    """The alert log as channelsync.alerts leaves it: demo-autotask's failed run's e-mail refused by the SMTP
    server through two passes (not delivered yet), a demo-connectwise e-mail sent."""
    from channelsync.state.models import AlertLog

    with session_scope(url) as session:
        refused = AlertLog(integration="demo-autotask", template="price_availability", run_id=failed_run,
                           error_code="AUTOTASK_VALIDATION", severity="error",
                           recipients=["msp-integrations@example.com"],
                           subject="[channelsync] demo-autotask price_availability: load failed "
                                   "(AUTOTASK_VALIDATION)",
                           status="failed", attempts=6, created_at=now - timedelta(minutes=19),
                           last_error="SMTP 127.0.0.1:25: SMTPDataError: (451, b'4.3.0 try again later')",
                           last_attempt_at=now - timedelta(minutes=2))
        session.add(refused)
        session.add(AlertLog(integration="demo-connectwise", template="catalog_sync", run_id=connectwise_run,
                             severity="warning", recipients=["msp-integrations@example.com"],
                             subject="[channelsync] demo-connectwise catalog_sync: 1 item(s) need a look",
                             status="sent", attempts=1, created_at=now - timedelta(minutes=50),
                             last_attempt_at=now - timedelta(minutes=50)))
        session.flush()
        return refused.id


def _health(url: str, now: datetime) -> int:
    """Health checks as the health template records them: demo-autotask's Crayon went down at the last
    check (it was up at the one before), demo-connectwise's systems are all up."""
    import channelsync.templates.health.steps  # noqa: F401  (declares up / degraded / down)

    def endpoint(key: str, outcome: str, latency: int, **extra: Any) -> dict[str, Any]:
        return {"entity_type": "endpoint", "source_key": key, "outcome": outcome,
                "warnings": [f"latency_ms: {latency}"] + (
                    ["api_budget_left: 9500 of 10000 per 60 min"] if key == "autotask" else []), **extra}

    autotask = ("autotask", "tdsynnex_xml", "tdsynnex_ion")
    _run(url, "demo-autotask", "health", "scheduled__before", started=now - timedelta(minutes=10),
         status="no_change", items={"reconcile": [endpoint(k, "up", 90) for k in (*autotask, "crayon")]}, duration=2.0)
    down = _run(url, "demo-autotask", "health", "scheduled__latest", started=now - timedelta(minutes=5),
                status="failure", duration=2.0,
                items={"reconcile": [*(endpoint(k, "up", 120) for k in autotask),
                                     endpoint("crayon", "down", 40, error_code="CRAYON_AUTH_FAILED",
                                              error_message="Crayon refused the API client (HTTP 401)")]},
                error=("HEALTH_SYSTEM_DOWN", "load: crayon down (CRAYON_AUTH_FAILED)"))
    _run(url, "demo-connectwise", "health", "scheduled__latest", started=now - timedelta(minutes=5),
         status="no_change", duration=2.0,
         items={"reconcile": [endpoint(k, "up", 80) for k in ("connectwise", "tdsynnex_xml", "tdsynnex_ion", "pax8")]})
    return down
