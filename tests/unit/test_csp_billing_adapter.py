"""adapters.csp_billing against the Crayon and Pax8 emulators over real HTTP: accounts, price lists,
invoices and invoice lines as the canonical billing tables, and unreadable records kept with the reason."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from channelsync.adapters.csp_billing import (
    CspAccount,
    InvoiceRef,
    accounts_from_options,
    invoice_lines,
    list_invoices,
    price_list,
)
from channelsync.canonical.billing import CHARGE_TYPES, CSP_PRODUCT, INVOICE_LINE
from channelsync.clients.crayon import CrayonClient
from channelsync.clients.http import RetryPolicy
from channelsync.clients.pax8 import Pax8Client
from channelsync.config import IntegrationConfig
from channelsync.errors import ConfigError
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.demo_credentials import CRAYON, PAX8
from channelsync.sandbox.server import SandboxServer

POLICY = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.05)
INTEGRATION = IntegrationConfig(
    name="csp-test", psa={"system": "autotask", "conn_id": "psa"},
    distributors={"crayon": {"conn_id": "crayon_main"}, "pax8": {"conn_id": "pax8_main"}, "tdsynnex": {
        "xml_conn_id": "tds"}},
    templates={},
)


def _factory(server: SandboxServer) -> Any:
    made: dict[tuple[str, str], Any] = {}

    def make(system: str, conn_id: str) -> Any:
        if (system, conn_id) not in made:
            if system == "crayon":
                made[(system, conn_id)] = CrayonClient(
                    base_url=f"{server.url}/crayon/api/v1", client_id=CRAYON["client_id"],
                    client_secret=CRAYON["client_secret"], username=CRAYON["username"], password=CRAYON["password"],
                    policy=POLICY, page_size=50)
            else:
                made[(system, conn_id)] = Pax8Client(
                    base_url=f"{server.url}/pax8/v1", client_id=PAX8["client_id"], client_secret=PAX8["client_secret"],
                    audience=PAX8["audience"], policy=POLICY)
        return made[(system, conn_id)]

    return make


@pytest.fixture()
def accounts(sandbox: SandboxControl, sandbox_server: SandboxServer) -> dict[str, CspAccount]:
    found = accounts_from_options(INTEGRATION, None, clients=_factory(sandbox_server))
    return {account.distributor: account for account in found}


def _conforms(frame: pd.DataFrame, schema: dict[str, str]) -> None:
    assert list(frame.columns) == list(schema)
    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == schema


def test_accounts_from_options(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    clients = _factory(sandbox_server)
    default = accounts_from_options(INTEGRATION, [], clients=clients)
    assert [(a.distributor, a.conn_id, a.account) for a in default] == [
        ("crayon", "crayon_main", "4401"), ("pax8", "pax8_main", "pax8_main")]  # every organization the login sees
    chosen = accounts_from_options(INTEGRATION, [
        {"distributor": "crayon", "account": "4401"},
        SimpleNamespace(distributor="pax8", conn_id="pax8_other", account=None),
        {"distributor": "crayon", "conn_id": "crayon_main", "account": "4401"},  # the same account again: once
    ], clients=clients)
    assert [(a.distributor, a.conn_id, a.account) for a in chosen] == [
        ("crayon", "crayon_main", "4401"), ("pax8", "pax8_other", "pax8_other")]
    only_pax8 = INTEGRATION.model_copy(update={"distributors": {"pax8": INTEGRATION.distributors["pax8"]}})
    assert [a.distributor for a in accounts_from_options(only_pax8, None, clients=clients)] == ["pax8"]
    with pytest.raises(ConfigError, match="not one of"):
        accounts_from_options(INTEGRATION, [{"distributor": "tdsynnex"}], clients=clients)
    with pytest.raises(ConfigError, match="needs a conn_id"):
        accounts_from_options(only_pax8, [{"distributor": "crayon"}], clients=clients)


def test_price_lists(sandbox: SandboxControl, sandbox_server: SandboxServer, accounts: dict[str, CspAccount]) -> None:
    offers = sandbox_server.app.context.world.offers
    crayon = price_list(accounts["crayon"])
    _conforms(crayon, CSP_PRODUCT)
    assert len(crayon) == len(offers) and crayon["source_key"].is_unique and crayon["parse_error"].isna().all()
    by_sku = crayon.set_index("sku")
    for offer in offers:  # per billing period: an annual price is twelve months'
        months = 12 if offer.billing_cycle == "Annual" else 1
        row = by_sku.loc[offer.nce_id]
        assert (row["unit_cost"], row["unit_price"]) == (float(offer.unit_cost * months), float(offer.rrp * months))
        assert row["billing_cycle"] == offer.billing_cycle and bool(row["usage"]) == offer.usage_based
        assert (row["term"] if not pd.isna(row["term"]) else None) == (None if offer.usage_based else offer.term)
    assert set(crayon["account"]) == {"4401"} and set(crayon["currency"]) == {"USD"}
    wanted = [offers[0].nce_id, offers[2].nce_id]
    assert sorted(price_list(accounts["crayon"], part_numbers=wanted)["sku"]) == sorted(wanted)

    pax8 = price_list(accounts["pax8"])
    _conforms(pax8, CSP_PRODUCT)
    assert len(pax8) == len(offers) and pax8["sku"].is_unique and pax8["parse_error"].isna().all()
    assert set(pax8["billing_cycle"]) == {"Monthly", "Annual", "None"} and pax8["usage"].sum() == 1
    assert all(re.fullmatch(r"MST-NCE-\d{3}-\d{4}(:P1[MY]:(Monthly|Annual))?", sku) for sku in pax8["sku"])
    variant = pax8[pax8["sku"].str.endswith(":P1Y:Annual")].iloc[0]
    monthly = pax8[pax8["sku"] == variant["sku"].replace(":Annual", ":Monthly")].iloc[0]
    assert variant["unit_cost"] == pytest.approx(12 * monthly["unit_cost"])
    sandbox.clear_requests()
    narrowed = price_list(accounts["pax8"], part_numbers=[variant["sku"]])
    assert list(narrowed["sku"]) == [variant["sku"]]
    assert sum(1 for e in sandbox.requests("pax8") if e["path"].endswith("/pricing")) == 1  # one product's pricing


def test_list_invoices_since(sandbox: SandboxControl, accounts: dict[str, CspAccount]) -> None:
    month = date.fromisoformat(sandbox.control("crayon", "billing", method="GET")["nextMonth"] + "-01")
    for distributor, account in accounts.items():
        history = list_invoices(account)
        assert history and all(isinstance(ref, InvoiceRef) and ref.period_end < month for ref in history)
        assert list_invoices(account, since=month) == []
        sandbox.control(distributor, "invoices/publish")
        new = list_invoices(account, since=month)
        assert new and all(ref.period_start == month and ref.account == account for ref in new)
        assert all(ref.as_dict()["invoice_id"] == ref.invoice_id and ref.currency == "USD" for ref in new)
    pax8_ref = list_invoices(accounts["pax8"], since=month)[0]
    assert pax8_ref.published == (month + timedelta(days=32)).replace(day=1) and pax8_ref.status == "Unpaid"


def _scenario(sandbox: SandboxControl, system: str, subs: list[dict[str, Any]], key: str) -> None:
    """Every kind of line in one month: seat increase and decrease, cancel, credit, one-time purchase,
    a subscription's price change, a new customer, usage."""
    seats = subs[:6]
    sandbox.control(system, "changes", json={"changes": [
        {"type": "seat_change", "subscription_id": seats[0][key], "day": 8, "quantity": 40},
        {"type": "seat_change", "subscription_id": seats[1][key], "day": 12, "quantity": 1},
        {"type": "cancel", "subscription_id": seats[2][key], "day": 20},
        {"type": "credit", "subscription_id": seats[3][key], "day": 3, "quantity": 1},
        {"type": "subscription_price", "subscription_id": seats[4][key], "day": 16, "unit_price": "2.50"},
        {"type": "one_time", "day": 9, "quantity": 2, "unit_price": 80, "rrp": 100},
        {"type": "new_tenant", "day": 5, "name": "Adapter Test Customer", "quantity": 3},
        {"type": "usage", "day": 1, "amount": 123.45},
    ]})


def _seat_subscriptions(sandbox: SandboxControl, accounts: dict[str, CspAccount], system: str) -> list[dict[str, Any]]:
    client = accounts[system].client()
    month = date.fromisoformat(sandbox.control(system, "billing", method="GET")["nextMonth"] + "-01")
    if system == "crayon":
        return [s for s in client.iter_subscriptions() if s["billingCycle"] == 1 and s["provisionType"] == 1
                and s["quantity"] not in (1, 40) and s["startDate"][:10] < f"{month - timedelta(days=31):%Y-%m-%d}"]
    return [s for s in client.iter_subscriptions() if s["billingTerm"] == "Monthly" and s["productName"] != "Azure plan"
            and s["quantity"] not in (1, 40) and s["startDate"][:10] < f"{month - timedelta(days=31):%Y-%m-%d}"]


def test_crayon_invoice_lines(sandbox: SandboxControl, accounts: dict[str, CspAccount]) -> None:
    account = accounts["crayon"]
    month = date.fromisoformat(sandbox.control("crayon", "billing", method="GET")["nextMonth"] + "-01")
    _scenario(sandbox, "crayon", _seat_subscriptions(sandbox, accounts, "crayon"), "id")
    sandbox.control("crayon", "invoices/publish")
    refs = list_invoices(account, since=month)
    assert len(refs) == 3  # Seat, Usage and OneTime statements
    frames = [invoice_lines(account, ref.invoice_id) for ref in refs]
    for ref, frame in zip(refs, frames, strict=True):
        _conforms(frame, INVOICE_LINE)
        assert frame["parse_error"].isna().all() and set(frame["charge_type"]) <= set(CHARGE_TYPES)
        assert Decimal(str(round(frame["cost_total"].sum(), 2))) == ref.total
        assert (frame["source_key"] == "crayon:4401:" + ref.invoice_id + ":" + frame["line_id"]).all()
        assert frame["customer_domain"].str.endswith(".onmicrosoft.com").all()
    lines = pd.concat(frames)
    kinds = Counter(lines["charge_type"])
    assert kinds["addQuantity"] == 2 and kinds["removeQuantity"] == 2 and kinds["cancelImmediate"] == 1
    assert kinds["customerCredit"] == 1 and kinds["oneTime"] == 1 and kinds["usage"] >= 1 and kinds["new"] == 1
    reversals = lines[lines["billable_ratio"] < 0]
    assert set(reversals["charge_type"]) == {"addQuantity", "removeQuantity", "cancelImmediate", "customerCredit",
                                             "cycleCharge"}
    pairs = lines[lines["charge_type"].isin(["addQuantity", "removeQuantity"])].groupby("reference_id")["line_id"]
    assert (pairs.count() == 2).all()
    one_time = lines[lines["charge_type"] == "oneTime"].iloc[0]
    assert (one_time["quantity"], one_time["cost_total"], one_time["billing_cycle"]) == (2, 160, "None")
    usage = lines[lines["charge_type"] == "usage"]
    assert (usage["quantity"] == 1).all() and (usage["billing_cycle"] == "None").all() and 123.45 in set(
        usage["unit_cost"])


def test_pax8_invoice_lines_derive_charge_types_and_ratios(sandbox: SandboxControl,
                                                           accounts: dict[str, CspAccount]) -> None:
    account = accounts["pax8"]
    month = date.fromisoformat(sandbox.control("pax8", "billing", method="GET")["nextMonth"] + "-01")
    _scenario(sandbox, "pax8", _seat_subscriptions(sandbox, accounts, "pax8"), "id")
    sandbox.control("pax8", "invoices/publish")
    (ref,) = list_invoices(account, since=month)
    lines = invoice_lines(account, ref.invoice_id)
    _conforms(lines, INVOICE_LINE)
    assert lines["parse_error"].isna().all() and set(lines["charge_type"]) <= set(CHARGE_TYPES)
    assert Decimal(str(round(lines["cost_total"].sum(), 2))) == ref.total
    assert lines["customer_domain"].isna().all() and lines["reference_id"].isna().all()
    kinds = Counter(lines["charge_type"])
    # The price change is a removal of every seat at the old price and an addition at the new one.
    assert (kinds["addQuantity"], kinds["removeQuantity"], kinds["cancelImmediate"]) == (2, 2, 1)
    assert (kinds["customerCredit"], kinds["oneTime"], kinds["new"]) == (1, 1, 1) and kinds["usage"] >= 1
    # The derived ratio is the one the emulator billed with (it writes it into the free-text details).
    items = {i["id"]: i for i in account.client().iter_invoice_items(ref.invoice_id)}
    for line in lines.itertuples():
        billed = Decimal(re.search(r"billable ratio (-?[\d.]+)", items[line.line_id]["details"]).group(1))  # type: ignore[union-attr]
        assert Decimal(str(line.billable_ratio)) == billed, line
        assert round(line.quantity * line.unit_cost * line.billable_ratio, 2) == pytest.approx(line.cost_total)
    credit = lines[lines["charge_type"] == "customerCredit"].iloc[0]
    assert credit["quantity"] == 1 and credit["billable_ratio"] < 0 and credit["charge_end"] < month.isoformat()
    cancel = lines[lines["charge_type"] == "cancelImmediate"].iloc[0]
    assert cancel["quantity"] < 0 < cancel["billable_ratio"]
    assert lines[lines["charge_type"] == "cycleCharge"]["sku"].str.contains(r":P1[MY]:(?:Monthly|Annual)$").all()


def test_unreadable_lines_are_kept_with_the_reason(sandbox: SandboxControl, accounts: dict[str, CspAccount]) -> None:
    crayon_ref = list_invoices(accounts["crayon"])[-1]
    records = sandbox.records("crayon", "billingrecords", BillingStatementId=crayon_ref.invoice_id)
    edits = [{"Quantity": "ten"}, {"ChargeStartDate": None}, {"ChargeType": "convert"}, {"CustomerTenant": "x"}]
    for record, edit in zip(records, edits, strict=False):
        sandbox.edit_record("crayon", "billingrecords", record["Id"], edit)
    frame = invoice_lines(accounts["crayon"], crayon_ref.invoice_id).set_index("line_id")
    assert len(frame) == len(records) >= 4  # none dropped
    errors = [frame.loc[str(r["Id"]), "parse_error"] for r in records[:4]]
    assert errors[0].startswith("quantity is str 'ten', expected a number")
    assert errors[1] == "chargeStartDate is missing"
    assert pd.isna(errors[2]) and frame.loc[str(records[2]["Id"]), "charge_type"] == "convert"  # for the suite
    assert errors[3].startswith("customerTenant.id is missing")

    pax8_ref = list_invoices(accounts["pax8"])[-1]
    items = list(accounts["pax8"].client().iter_invoice_items(pax8_ref.invoice_id))
    for item, edit in zip(items, [{"quantity": "2"}, {"type": "rebate"}, {"startPeriod": "2026-13-45"}], strict=False):
        sandbox.edit_record("pax8", "invoiceitems", item["id"], edit)
    lines = invoice_lines(accounts["pax8"], pax8_ref.invoice_id).set_index("line_id")
    assert len(lines) == len(items)
    assert lines.loc[items[0]["id"], "parse_error"].startswith("quantity is str '2', expected a number")
    assert pd.isna(lines.loc[items[1]["id"], "parse_error"]) and lines.loc[items[1]["id"], "charge_type"] == "rebate"
    assert "startPeriod '2026-13-45' is not a date" in lines.loc[items[2]["id"], "parse_error"]
