"""service_catalog_sync end to end on the sandbox: both PSAs × both CSP distributors (issue 10).

Expected services are worked out here from the sandbox world's offers (``World.offers``: buy price and RRP per
seat per month; an annually billed offer's service costs twelve months), never from the code under test. Writes
are counted from the sandbox's request log; "only prices changed" is checked on the PSA's records themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from channelsync.config import IntegrationConfig
from channelsync.connections import SettingsClientFactory, connections_from_settings
from channelsync.imports import load_object
from channelsync.runs.context import RunContext
from channelsync.runs.runner import run_in_process
from channelsync.sandbox.autotask.metadata import PERIOD_TYPE
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from channelsync.sandbox.world import World
from channelsync.state.db import session_scope
from channelsync.state.models import AlertLog, SyncItem
from channelsync.templates.registry import TEMPLATES
from tests.e2e.conftest import last_seq, writes

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "service_catalog_sync"
COMBOS = ["autotask-crayon", "autotask-pax8", "connectwise-crayon", "connectwise-pax8"]
OPTIONS = {"autotask": {"billing_code": "Microsoft 365 Licensing"},
           "connectwise": {"billing_code": "Cloud Subscription", "subcategory": "Microsoft 365"}}
# PSA → (table, name field, price field, cost field)
TABLES = {"autotask": ("Services", "name", "unitPrice", "unitCost"),
          "connectwise": ("catalogItems", "identifier", "price", "cost")}
PERIOD_LABELS = {value: label for label, value in PERIOD_TYPE.items()}
OFFERS = World("small", 42).offers

Run = Callable[..., dict[str, Any]]


@pytest.fixture()
def run_services(sandbox_server: SandboxServer, state_store: str) -> Run:
    """Run service_catalog_sync in-process for a (PSA, distributor) pair, as the DAG's tasks would."""
    connections = connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=sandbox_server.url)
    counter = {"n": 0}

    def run(combo: str, *, preview: bool = False, **overrides: Any) -> dict[str, Any]:
        psa, distributor = combo.split("-")
        options = {**OPTIONS[psa], **overrides}
        integration = IntegrationConfig.model_validate({
            "name": combo, "psa": {"system": psa, "conn_id": f"sandbox_{psa}"},
            "distributors": {distributor: {"conn_id": f"sandbox_{distributor}"}},
            "templates": {TEMPLATE: {"options": options}}})
        counter["n"] += 1
        spec = TEMPLATES[TEMPLATE]
        context = RunContext(
            integration=integration, template=TEMPLATE, options=spec.options_model.model_validate(options),
            run_key=f"test/{combo}/{counter['n']}", preview=preview, state_url=state_store,
            client_factory=SettingsClientFactory(connections, state_url=state_store))
        summary = run_in_process(context, load_object(spec.steps)())
        summary["run_key"] = context.run_key
        return summary

    return run


# ---- what the test expects, worked out from the sandbox's own data -------------------------------------------

def sku_of(sandbox: SandboxControl, distributor: str) -> dict[str, str]:
    """NCE id → the distributor's SKU (Crayon: the NCE id; Pax8: its product SKU + commitment + billing cycle, the
    product SKU alone for usage)."""
    if distributor == "crayon":
        return {offer.nce_id: offer.nce_id for offer in OFFERS}
    by_vendor_sku = {p["vendorSku"]: p["sku"] for p in sandbox.records("pax8", "products")}
    return {o.nce_id: by_vendor_sku[f"{o.product_id}:{o.sku_id}"] + ("" if o.usage_based else f":{o.term}:"
                                                                     f"{o.billing_cycle}") for o in OFFERS}


def expected_services(sandbox: SandboxControl, distributor: str) -> dict[str, tuple[float, float, str]]:
    """Service name → (unit cost, unit price, period) per the world's price list."""
    skus = sku_of(sandbox, distributor)
    out = {}
    for offer in OFFERS:
        months = 12 if offer.billing_cycle == "Annual" else 1
        period = "Yearly" if offer.billing_cycle == "Annual" else "Monthly"
        out[f"PC_{skus[offer.nce_id]}"] = (round(float(offer.unit_cost) * months, 4),
                                           round(float(offer.rrp) * months, 4), period)
    return out


def psa_services(sandbox: SandboxControl, psa: str) -> dict[str, dict[str, Any]]:
    """The PSA's PC_ services by name: cost, price, period, active, descriptions, the raw record."""
    table, name, price, cost = TABLES[psa]
    out = {}
    for record in sandbox.records(psa, table):
        if not str(record.get(name) or "").startswith("PC_"):
            continue
        if psa == "autotask":
            period, active = PERIOD_LABELS.get(record["periodType"]), record["isActive"]
            texts = (record.get("description"), record.get("invoiceDescription"))
        else:
            unit = str((record.get("unitOfMeasure") or {}).get("name"))
            period, active = {"Month": "Monthly", "Year": "Yearly"}.get(unit), not record.get("inactiveFlag")
            texts = (record.get("description"), record.get("customerDescription"))
        out[record[name]] = {"id": record["id"], "cost": float(record[cost]), "price": float(record[price]),
                             "period": period, "active": active, "description": texts[0],
                             "invoice_description": texts[1], "record": record}
    return out


def hand_made_clash(sandbox: SandboxControl, psa: str, name: str) -> int:
    """A service named like channelsync's that a person made (the Autotask seed has one for Crayon's first offer)."""
    table, field, _, _ = TABLES[psa]
    existing = [r for r in sandbox.records(psa, table) if str(r.get(field)).lower() == name.lower()]
    if existing:
        return int(existing[0]["id"])
    if psa == "autotask":
        record = {"name": name, "description": "typed in by hand", "unitPrice": 1.0, "unitCost": 0.5,
                  "periodType": PERIOD_TYPE["Monthly"], "billingCodeID": 3, "isActive": True}
    else:
        record = {"identifier": name, "description": "typed in by hand", "customerDescription": "typed in by hand",
                  "price": 1.0, "cost": 0.5, "inactiveFlag": False, "productClass": "Service"}
    return int(sandbox.create_record(psa, table, record)["id"])


def rename(sandbox: SandboxControl, psa: str, record_id: int, name: str) -> None:
    table, field, _, _ = TABLES[psa]
    sandbox.edit_record(psa, table, record_id, {field: name})


def items(state_url: str, run_id: int) -> list[SyncItem]:
    with session_scope(state_url) as session:
        found = list(session.scalars(select(SyncItem).where(SyncItem.run_id == run_id)))
        session.expunge_all()
        return found


def staged(combo: str, run_key: str, name: str) -> pd.DataFrame:
    """A CSV the run staged (the plan's field-level diff, the price-change report)."""
    from channelsync.runs.staging import run_folder

    with (run_folder(combo, TEMPLATE, run_key) / name).open("r") as handle:
        return pd.read_csv(handle)


def change_price(sandbox: SandboxControl, distributor: str, offer_id: str, unit: float, rrp: float) -> None:
    """The distributor's price list changes (per seat per month, as both emulators take it)."""
    sandbox.control(distributor, "changes", json={"type": "price_change", "offer": offer_id, "day": 1,
                                                   "unit_price": f"{unit:.2f}", "rrp": f"{rrp:.2f}"})


def first_sync_clean(sandbox: SandboxControl, run: Run, combo: str) -> dict[str, Any]:
    """A first sync with no name clash left (the seeded hand-made PC_ service renamed first)."""
    psa, distributor = combo.split("-")
    first_name = f"PC_{sku_of(sandbox, distributor)[OFFERS[0].nce_id]}"
    table, field, _, _ = TABLES[psa]
    for record in sandbox.records(psa, table):
        if str(record.get(field)).lower() == first_name.lower():
            rename(sandbox, psa, record["id"], "M365 Basic (hand-made)")
    summary = run(combo)
    assert summary["status"] == "success" and summary["counts"] == {"created": len(OFFERS)}, summary
    return summary


# ---- the scenarios ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("combo", COMBOS)
def test_first_sync_creates_every_service_a_clash_fails_alone_and_a_rerun_writes_nothing(
        sandbox: SandboxControl, run_services: Run, state_store: str, combo: str) -> None:
    psa, distributor = combo.split("-")
    expected = expected_services(sandbox, distributor)
    clash_name = f"PC_{sku_of(sandbox, distributor)[OFFERS[0].nce_id]}"
    clash_id = hand_made_clash(sandbox, psa, clash_name)

    preview = run_services(combo, preview=True)
    assert preview["status"] == "preview" and preview["plan"]["create"] == len(OFFERS), preview
    assert writes(sandbox, psa) == [], "a preview writes nothing"

    first = run_services(combo)
    assert first["status"] == "warning" and first["counts"] == {"created": len(OFFERS) - 1, "failed": 1}, first
    (failed,) = [i for i in items(state_store, first["run_id"]) if i.outcome == "failed"]
    assert failed.error_message is not None
    assert failed.source_key == f"{distributor}:{clash_name[3:]}"
    assert f"{clash_name!r} (id {clash_id}) already exists and channelsync did not create it" in failed.error_message
    assert "rename" in failed.error_message
    if psa == "autotask":  # the real Autotask refusal, carried on the item
        assert failed.error_code == "AUTOTASK_DUPLICATE_SERVICE"
        assert "Violation of UNIQUE KEY constraint 'IX_service'" in failed.error_message

    rename(sandbox, psa, clash_id, "M365 Basic (hand-made)")  # what the item tells a person to do
    second = run_services(combo)
    assert second["counts"] == {"created": 1} and second["status"] == "success", second

    mark = last_seq(sandbox)
    third = run_services(combo)
    assert writes(sandbox, psa, since=mark) == [], "a sync with nothing changed must not write"
    assert third["status"] == "no_change" and third["plan"]["unchanged"] == len(OFFERS), third

    synced = psa_services(sandbox, psa)
    seeded = {f"PC_{OFFERS[0].nce_id}"} if psa == "autotask" else set()  # the Autotask seed's hand-made one
    assert set(expected) <= set(synced) and set(synced) - set(expected) <= seeded
    for name, (cost, price, period) in expected.items():
        assert (synced[name]["cost"], synced[name]["price"], synced[name]["period"]) == (cost, price, period), name
        assert synced[name]["active"] is True


@pytest.mark.parametrize("combo", COMBOS)
def test_after_the_first_sync_only_cost_and_price_change(
        sandbox: SandboxControl, run_services: Run, state_store: str, combo: str) -> None:
    psa, distributor = combo.split("-")
    table = TABLES[psa][0]
    first_sync_clean(sandbox, run_services, combo)
    skus = sku_of(sandbox, distributor)
    renamed, inactive, plain = OFFERS[3], OFFERS[4], OFFERS[6]  # P1M monthly, P1Y annual, P1Y monthly …
    before = psa_services(sandbox, psa)
    renamed_id = before[f"PC_{skus[renamed.nce_id]}"]["id"]
    inactive_id = before[f"PC_{skus[inactive.nce_id]}"]["id"]
    sandbox.edit_record(psa, table, renamed_id, {TABLES[psa][1]: "Our Business Standard", "description": "our words"})
    sandbox.edit_record(psa, table, inactive_id, {"isActive": False} if psa == "autotask" else {"inactiveFlag": True})
    new_prices = {offer.nce_id: (float(offer.unit_cost) + 1.0, float(offer.rrp) + 2.0)
                  for offer in (renamed, inactive, plain)}
    for offer_id, (unit, rrp) in new_prices.items():
        change_price(sandbox, distributor, offer_id, unit, rrp)
    records_before = {r["id"]: r for r in sandbox.records(psa, table)}

    mark = last_seq(sandbox)
    preview = run_services(combo, preview=True)
    assert preview["plan"]["update"] == 3 and preview["status"] == "preview", preview
    assert writes(sandbox, psa, since=mark) == [], "a preview writes nothing"
    diff = staged(combo, preview["run_key"], "plan_diff.csv")
    fields, remarks = diff[diff["field"].notna()], diff[diff["field"].isna()].set_index("source_key")["after"]
    assert set(fields["field"]) == {"unit_cost", "unit_price"} and len(fields) == 6 and set(diff["op"]) == {"update"}
    assert "name, descriptions and status kept" in remarks[f"{distributor}:{skus[renamed.nce_id]}"]
    assert "stays inactive, prices kept current" in remarks[f"{distributor}:{skus[inactive.nce_id]}"]
    months = 12 if plain.billing_cycle == "Annual" else 1
    shown = fields[fields["source_key"] == f"{distributor}:{skus[plain.nce_id]}"].set_index("field")
    assert (float(shown.loc["unit_price", "before"]), float(shown.loc["unit_price", "after"])) == \
        (float(plain.rrp) * months, new_prices[plain.nce_id][1] * months)

    mark = last_seq(sandbox)
    summary = run_services(combo)
    sent = writes(sandbox, psa, since=mark)
    assert summary["counts"] == {"updated": 3} and len(sent) == 3, (summary, sent)
    assert {w["method"] for w in sent} == {"PATCH"}

    # Every PSA record is as it was but for cost and price of the three (Autotask also stamps the edit).
    volatile = {"autotask": {"unitCost", "unitPrice", "lastModifiedDate"},
                "connectwise": {"cost", "price", "recurringCost", "recurringRevenue", "_info"}}[psa]
    after = {r["id"]: r for r in sandbox.records(psa, table)}
    changed_ids = set()
    for record_id, record in after.items():
        diff = {k for k in set(record) | set(records_before[record_id])
                if record.get(k) != records_before[record_id].get(k)}
        assert diff <= volatile, (record_id, diff)
        if diff - {"lastModifiedDate", "_info"}:
            changed_ids.add(record_id)
    _, name_field, price_field, cost_field = TABLES[psa]
    ids = {renamed.nce_id: renamed_id, inactive.nce_id: inactive_id,
           plain.nce_id: before[f"PC_{skus[plain.nce_id]}"]["id"]}
    assert changed_ids == set(ids.values())
    for offer in (renamed, inactive, plain):
        months = 12 if offer.billing_cycle == "Annual" else 1
        unit, rrp = new_prices[offer.nce_id]
        record = after[ids[offer.nce_id]]
        assert (float(record[cost_field]), float(record[price_field])) == \
            (round(unit * months, 4), round(rrp * months, 4)), offer.name
    assert (after[renamed_id][name_field], after[renamed_id]["description"]) == ("Our Business Standard", "our words")
    assert (after[inactive_id].get("isActive") is False) if psa == "autotask" else after[inactive_id]["inactiveFlag"]

    # The price-change report: staged, and an alert row for the run.
    report = staged(combo, summary["run_key"], "price_changes.csv")
    assert len(report) == 3 and set(report["outcome"]) == {"updated"}
    row = report[report["sku"] == skus[plain.nce_id]].iloc[0]
    old_cost, old_price = float(plain.unit_cost), float(plain.rrp)  # P1Y monthly: one month
    new_cost, new_price = new_prices[plain.nce_id]
    assert (row["old_cost"], row["new_cost"], row["old_price"], row["new_price"]) == \
        (old_cost, new_cost, old_price, new_price)
    assert row["new_margin"] == pytest.approx(new_price - new_cost)
    assert row["new_margin_pct"] == pytest.approx(round((new_price - new_cost) / new_price * 100, 2))
    with session_scope(state_store) as session:
        alerts = list(session.scalars(select(AlertLog.subject).where(AlertLog.run_id == summary["run_id"],
                                                                      AlertLog.error_code == "SERVICE_PRICES_CHANGED")))
    assert len(alerts) == 1 and "3 service price change(s)" in alerts[0]

    mark = last_seq(sandbox)
    assert run_services(combo)["status"] == "no_change" and writes(sandbox, psa, since=mark) == []


@pytest.mark.parametrize("combo", ["autotask-crayon", "connectwise-pax8"])
def test_a_deleted_service_comes_back_and_a_retired_product_keeps_its_service(
        sandbox: SandboxControl, run_services: Run, combo: str) -> None:
    psa, distributor = combo.split("-")
    table = TABLES[psa][0]
    first_sync_clean(sandbox, run_services, combo)
    skus = sku_of(sandbox, distributor)
    deleted, retired = OFFERS[2], OFFERS[5]
    services = psa_services(sandbox, psa)
    sandbox.delete_record(psa, table, services[f"PC_{skus[deleted.nce_id]}"]["id"])  # a person deletes it
    sandbox.control(distributor, "changes", json={"type": "retire_product", "offer": retired.nce_id, "day": 1})

    mark = last_seq(sandbox)
    summary = run_services(combo)
    sent = writes(sandbox, psa, since=mark)
    assert summary["counts"] == {"created": 1} and [w["method"] for w in sent] == ["POST"], (summary, sent)
    now = psa_services(sandbox, psa)
    assert f"PC_{skus[deleted.nce_id]}" in now
    assert now[f"PC_{skus[retired.nce_id]}"]["record"] == services[f"PC_{skus[retired.nce_id]}"]["record"]
    mark = last_seq(sandbox)
    assert run_services(combo)["status"] == "no_change" and writes(sandbox, psa, since=mark) == []


@pytest.mark.parametrize("combo", ["autotask-pax8", "connectwise-crayon"])
def test_lost_answers_then_an_unreachable_psa_then_a_rerun_make_each_service_once(
        sandbox: SandboxControl, run_services: Run, state_store: str, combo: str) -> None:
    psa, distributor = combo.split("-")
    hand_made = hand_made_clash(sandbox, psa, f"PC_{sku_of(sandbox, distributor)[OFFERS[0].nce_id]}")
    rename(sandbox, psa, hand_made, "M365 Basic (hand-made)")
    path = "Services/?$" if psa == "autotask" else "procurement/catalog/?$"
    # After 10 creates: 3 are applied but their answers lost, then the PSA stops answering creates.
    sandbox.set_faults(
        {"kind": "write_then_drop", "system": psa, "method": "POST", "path": path, "skip": 10, "count": 3},
        {"kind": "drop", "system": psa, "method": "POST", "path": path, "skip": 13},
    )
    crashed = run_services(combo)
    assert crashed["status"] == "failure" and crashed["counts"].get("created", 0) <= 13, crashed
    sandbox.clear_faults()

    rerun = run_services(combo)
    assert rerun["status"] == "success" and not rerun["counts"].get("failed"), rerun
    names = [str(r.get(TABLES[psa][1])) for r in sandbox.records(psa, TABLES[psa][0])]
    ours = [n for n in names if n.startswith("PC_")]
    assert sorted(ours) == sorted(set(ours)) and set(ours) >= set(expected_services(sandbox, distributor))
    # The three whose answers were lost were found by name, not created again.
    found = [i for i in items(state_store, rerun["run_id"]) if i.outcome == "created"]
    assert len(found) == len(OFFERS) - crashed["counts"].get("created", 0)
    mark = last_seq(sandbox)
    assert run_services(combo)["status"] == "no_change" and writes(sandbox, psa, since=mark) == []


@pytest.mark.parametrize("psa", ["autotask", "connectwise"])
def test_long_descriptions_are_cut_to_the_psa_limits_with_a_warning(
        sandbox: SandboxControl, run_services: Run, state_store: str, psa: str) -> None:
    combo = f"{psa}-pax8"
    product = next(p for p in sandbox.records("pax8", "products")
                   if p["vendorSku"] == f"{OFFERS[3].product_id}:{OFFERS[3].sku_id}")
    long_name, long_text = "Microsoft 365 " + "N" * 436, "D" * 1500  # 450 and 1,500 characters
    sandbox.edit_record("pax8", "products", product["id"], {"name": long_name, "shortDescription": long_text})
    summary = run_services(combo)
    assert summary["status"] == "warning", summary
    cut = [i for i in items(state_store, summary["run_id"]) if i.outcome == "text_truncated"]
    variants = [o for o in OFFERS if (o.product_id, o.sku_id) == (OFFERS[3].product_id, OFFERS[3].sku_id)]
    assert len(cut) == len(variants) == 3 and summary["counts"]["created"] == len(OFFERS)
    description_max, invoice_max = (400, 1000) if psa == "autotask" else (60, 6000)
    expected = f"description cut from 450 to {description_max} characters"
    if invoice_max < 1500:
        expected += f"; invoice description cut from 1500 to {invoice_max} characters"
    assert {i.error_message for i in cut} == {expected}
    assert {i.error_code for i in cut} == {"SERVICE_TEXT_TRUNCATED"}
    skus = sku_of(sandbox, "pax8")
    service = psa_services(sandbox, psa)[f"PC_{skus[OFFERS[3].nce_id]}"]
    assert service["description"] == long_name[:description_max]
    assert service["invoice_description"] == long_text[:invoice_max]


@pytest.mark.parametrize(("psa", "billing_code", "allowed"), [
    ("autotask", "Hardware", ["'Recurring Services'", "'Microsoft 365 Licensing'"]),
    ("connectwise", "Recurring Contract", ["'Cloud Subscription'", "'Service'"]),
])
def test_a_billing_code_that_is_not_a_recurring_one_is_a_configuration_error(
        sandbox: SandboxControl, run_services: Run, psa: str, billing_code: str, allowed: list[str]) -> None:
    summary = run_services(f"{psa}-crayon", billing_code=billing_code)
    assert summary["status"] == "failure"
    error = summary["error"]
    assert error.code == "SERVICE_CONFIG_INVALID" and "\n" not in str(error)
    assert f"billing_code {billing_code!r} is not" in str(error) and all(a in str(error) for a in allowed)
    assert "Legacy Recurring (retired)" not in str(error)  # inactive codes are not offered
    assert sandbox.requests("crayon") == [] and writes(sandbox, psa) == []


@pytest.mark.parametrize("psa", ["autotask", "connectwise"])
def test_the_vendor_company_goes_on_new_services_and_an_unknown_one_is_a_configuration_error(
        sandbox: SandboxControl, run_services: Run, psa: str) -> None:
    table, field = ("Companies", "companyName") if psa == "autotask" else ("companies", "name")
    vendor = next(c for c in sandbox.records(psa, table) if c[field] in ("Crayon", "TD SYNNEX"))
    refused = run_services(f"{psa}-crayon", vendor_company=987654)
    assert refused["status"] == "failure" and refused["error"].code == "SERVICE_CONFIG_INVALID"
    assert "vendor_company 987654 is not" in str(refused["error"]) and writes(sandbox, psa) == []

    summary = run_services(f"{psa}-crayon", vendor_company=int(vendor["id"]))
    assert summary["counts"].get("created", 0) >= len(OFFERS) - 1, summary
    for name, service in psa_services(sandbox, psa).items():
        record = service["record"]
        if psa == "autotask" and name == f"PC_{OFFERS[0].nce_id}":
            continue  # the seed's hand-made one
        written = record.get("vendorCompanyID") if psa == "autotask" else (record.get("vendor") or {}).get("id")
        assert written == vendor["id"], record


def _key(record: dict[str, Any], *path: str) -> Any:
    """A field of a sandbox record whatever its casing (Crayon's records are PascalCase)."""
    value: Any = record
    for name in path:
        value = next(v for k, v in value.items() if k.lower() == name.lower())
    return value


def invoiced_skus(sandbox: SandboxControl, distributor: str) -> dict[str, set[str]]:
    """Customer id → the price-list SKUs on the latest invoice, read from the emulator's own records."""
    out: dict[str, set[str]] = {}
    if distributor == "crayon":
        statements = sandbox.records("crayon", "billingstatements")
        latest = max(_key(s, "StartDate") for s in statements)
        ids = {_key(s, "Id") for s in statements if _key(s, "StartDate") == latest}
        for line in sandbox.records("crayon", "billingrecords"):
            if _key(line, "BillingStatementId") in ids:
                out.setdefault(str(_key(line, "CustomerTenant", "Id")), set()).add(_key(line, "Product", "PartNumber"))
        return out
    latest = max(sandbox.records("pax8", "invoices"), key=lambda i: i["invoiceDate"])
    subscriptions = {s["id"]: s for s in sandbox.records("pax8", "subscriptions")}
    commitments = {"1-Month": "P1M", "1-Year": "P1Y"}
    for item in sandbox.records("pax8", "invoiceitems", invoiceId=latest["id"]):
        if item["term"] == "Arrears":  # usage: the product SKU alone
            sku = item["sku"]
        else:
            commitment = str((subscriptions[item["subscriptionId"]].get("commitmentTerm") or {}).get("term"))
            sku = f"{item['sku']}:{commitments[commitment]}:{item['term']}"
        out.setdefault(str(item["companyId"]), set()).add(sku)
    return out


@pytest.mark.parametrize("combo", ["connectwise-crayon", "autotask-pax8"])
def test_in_use_mode_syncs_the_products_on_the_latest_invoice_of_the_chosen_customers(
        sandbox: SandboxControl, run_services: Run, combo: str) -> None:
    psa, distributor = combo.split("-")
    by_customer = invoiced_skus(sandbox, distributor)
    customer = min(by_customer, key=lambda c: (len(by_customer[c]) < 2, c))
    expected = {f"PC_{sku}" for sku in by_customer[customer]}
    assert 0 < len(expected) < len(OFFERS)

    mark = last_seq(sandbox)
    summary = run_services(combo, mode="in_use", in_use_customers=[customer])
    assert summary["status"] == "success" and summary["counts"] == {"created": len(expected)}, summary
    seeded = {f"PC_{OFFERS[0].nce_id}"} if psa == "autotask" else set()
    assert set(psa_services(sandbox, psa)) - seeded == expected
    assert len(writes(sandbox, psa, since=mark)) == len(expected)
    # Every customer on the invoice: the rest of the SKUs in use are added, the first ones keep their prices.
    everyone = {f"PC_{sku}" for skus in by_customer.values() for sku in skus}
    again = run_services(combo, mode="in_use")
    assert again["counts"] == {"created": len(everyone - expected)}, again
    assert set(psa_services(sandbox, psa)) - seeded == everyone
