"""CSP billing extract end to end: the demo connections (airflow_settings.yaml) through the hooks, a
month of changes on both distributors, a watcher's poll that finds the new invoices, and their lines as
INVOICE_LINE rows that join the price list and the world's customers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from channelsync.adapters.csp_billing import accounts_from_options, invoice_lines, list_invoices, price_list
from channelsync.canonical.billing import CHARGE_TYPES
from channelsync.config import IntegrationConfig
from channelsync.connections import SettingsClientFactory, connections_from_settings
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer

ROOT = Path(__file__).resolve().parents[2]


def test_a_month_of_changes_reaches_the_canonical_lines(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    clients = SettingsClientFactory(connections_from_settings(ROOT / "airflow_settings.yaml",
                                                              sandbox_url=sandbox_server.url))
    integration = IntegrationConfig(name="csp-e2e", psa={"system": "connectwise", "conn_id": "psa"}, templates={},
                                    distributors={"crayon": {"conn_id": "sandbox_crayon"},
                                                  "pax8": {"conn_id": "sandbox_pax8"}})
    accounts = accounts_from_options(integration, None, clients=clients)
    assert [a.distributor for a in accounts] == ["crayon", "pax8"]
    month = date.fromisoformat(sandbox.control("crayon", "billing", method="GET")["nextMonth"] + "-01")
    seen = {a.key: {ref.key for ref in list_invoices(a)} for a in accounts}
    assert all(seen.values()) and not any(list_invoices(a, since=month) for a in accounts)  # nothing new yet

    for account in accounts:
        system = account.distributor
        client = account.client()
        subs = list(client.iter_subscriptions())
        seats = [s for s in subs if (s.get("billingCycle") == 1 or s.get("billingTerm") == "Monthly")
                 and s.get("productName") != "Azure plan" and s.get("provisionType", 1) == 1]
        sandbox.control(system, "changes", json={"changes": [
            {"type": "seat_change", "subscription_id": seats[0]["id"], "day": 4, "quantity": seats[0]["quantity"] + 7},
            {"type": "subscription_price", "subscription_id": seats[1]["id"], "day": 18, "unit_price": 3},
            {"type": "credit", "subscription_id": seats[2]["id"], "day": 2},
            {"type": "one_time", "day": 11},
            {"type": "annual_subscription", "day": 14, "quantity": 2},
            {"type": "usage", "day": 1, "amount": 99},
        ]})
        sandbox.control(system, "invoices/publish")

    world = sandbox_server.app.context.world
    keys = {c.key for c in world.customers}
    for account in accounts:
        new = [ref for ref in list_invoices(account, since=month) if ref.key not in seen[account.key]]
        assert new and all(ref.period_start == month for ref in new)  # the watcher's poll finds them
        lines = pd.concat([invoice_lines(account, ref.invoice_id) for ref in new], ignore_index=True)
        assert lines["parse_error"].isna().all() and lines["source_key"].is_unique
        assert set(lines["charge_type"]) <= set(CHARGE_TYPES)
        assert {"customerCredit", "oneTime", "usage", "new", "addQuantity"} <= set(lines["charge_type"])
        assert round(lines["cost_total"].sum(), 2) == round(float(sum(ref.total for ref in new)), 2)
        # Every recurring line's SKU is on the price list (the join service_catalog_sync's services hang on).
        catalog = set(price_list(account)["sku"])
        recurring = lines[~lines["charge_type"].isin(["oneTime"])]
        assert set(recurring["sku"]) <= catalog, set(recurring["sku"]) - catalog
        # Every customer is one of the world's (Crayon tenants keep the key in Reference, Pax8 companies in
        # externalId).
        client = account.client()
        if account.distributor == "crayon":
            known = {str(t["id"]): t["reference"] for t in client.iter_customer_tenants()}
        else:
            known = {c["id"]: c["externalId"] for c in client.iter_companies()}
        assert {known[c] for c in lines["customer_id"]} <= keys
