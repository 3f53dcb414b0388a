"""Set-up for the billing end-to-end tests: customers on the distributor emulators, their PSA contracts
and their mappings, and readers of what the PSA emulators hold afterwards."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from channelsync.sandbox.control_client import SandboxControl
from channelsync.state.mappings import CustomerKey, set_mapping

ACCOUNT = {"crayon": "4401", "pax8": "sandbox_pax8"}
PSA_OF = {"demo-autotask": "autotask", "demo-connectwise": "connectwise"}
DISTRIBUTOR_OF = {"demo-autotask": "crayon", "demo-connectwise": "pax8"}


@dataclass
class Customer:
    tenant_id: str
    subscription_id: str
    company_id: str
    contract_id: str


def change(control: SandboxControl, distributor: str, **spec: Any) -> dict[str, Any]:
    answer = control.control(distributor, "changes", json=spec)
    (accepted,) = answer["accepted"]
    return dict(accepted)


def publish(control: SandboxControl, distributor: str) -> dict[str, Any]:
    return dict(control.control(distributor, "invoices/publish"))


def contract(control: SandboxControl, psa: str, name: str, start: str, end: str | None) -> tuple[str, str]:
    """A new company with a recurring contract (Autotask Recurring Service / ConnectWise agreement)."""
    if psa == "autotask":
        made = control.control("autotask", "contracts", json={
            "create_company": True, "company": name, "companyName": name, "contractName": f"{name} Microsoft 365",
            "contractType": 7, "status": 1, "startDate": start, "endDate": end})
        return str(made["contract"]["companyID"]), str(made["contract"]["id"])
    identifier = "".join(c for c in name if c.isalnum())[:25]
    made = control.control("connectwise", "agreements", json={
        "create_company": True, "company": identifier, "companyName": name, "name": f"{name} Microsoft 365",
        "type": "Microsoft 365", "startDate": start, "endDate": end, "prorateFlag": True})
    return str(made["agreement"]["company"]["id"]), str(made["agreement"]["id"])


def map_customer(state_url: str, integration: str, tenant_id: str, company: str, contract_id: str) -> None:
    distributor = DISTRIBUTOR_OF[integration]
    set_mapping(state_url, integration, CustomerKey(distributor, ACCOUNT[distributor], str(tenant_id)),
                company=company, contract=contract_id, by="test")


def new_customer(control: SandboxControl, state_url: str, integration: str, *, name: str, offer: str,
                 quantity: int, day: int, contract_start: str, contract_end: str | None = None) -> Customer:
    distributor = DISTRIBUTOR_OF[integration]
    made = change(control, distributor, type="new_tenant", name=name, offer=offer, quantity=quantity, day=day)
    tenant = str(made.get("tenantId") or made.get("companyId"))
    company, contract_id = contract(control, PSA_OF[integration], name, contract_start, contract_end)
    map_customer(state_url, integration, tenant, company, contract_id)
    return Customer(tenant, str(made["subscriptionId"]), company, contract_id)


def line_variant(line: dict[str, Any], new_id: int, **changes: Any) -> dict[str, Any]:
    """A copy of a Crayon billing record with another id and some fields changed (``Product__PartNumber``:
    a nested field), as the emulator would serve a line with one thing different."""
    record = copy.deepcopy(line)
    record["Id"] = new_id
    for path, value in changes.items():
        target = record
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return record


def crayon_rrp(control: SandboxControl, part_number: str) -> float:
    """Retail per seat per billing period, from the emulator's price list (the input of the scenario)."""
    for product in control.records("crayon", "agreementproducts"):
        if product["ProductVariant"]["PartNumber"] == part_number:
            return float(product["RecommendedRetailPrice"]["Value"])
    raise AssertionError(f"{part_number} not on the price list")


def service_ids(control: SandboxControl, psa: str) -> dict[str, str]:
    """PSA service / catalog item name → id."""
    if psa == "autotask":
        return {str(r["name"]): str(r["id"]) for r in control.records("autotask", "Services")}
    return {str(r["identifier"]): str(r["id"]) for r in control.records("connectwise", "catalogItems")}


def autotask_units(control: SandboxControl, contract_id: str, service_id: str,
                   until: date) -> list[tuple[str, str, int, float]]:
    """(start, end, units, price) of a contract service's unit rows with units or starting before ``until``."""
    rows = [r for r in control.records("autotask", "ContractServiceUnits")
            if str(r["contractID"]) == contract_id and str(r["serviceID"]) == service_id]
    rows.sort(key=lambda r: r["startDate"])
    return [(r["startDate"][:10], r["endDate"][:10], int(r["units"] or 0), round(float(r["price"] or 0), 2))
            for r in rows if date.fromisoformat(r["startDate"][:10]) < until]


def cw_additions(control: SandboxControl, agreement_id: str,
                 product_id: str) -> list[tuple[str, str | None, int, float]]:
    rows = [r for r in control.records("connectwise", "additions")
            if str(r.get("agreementId") or (r.get("agreement") or {}).get("id")) == agreement_id
            and str((r.get("product") or {}).get("id")) == product_id]
    rows.sort(key=lambda r: r["effectiveDate"])
    return [(r["effectiveDate"][:10], (r.get("cancelledDate") or None) and r["cancelledDate"][:10],
             int(r["quantity"] or 0), round(float(r["unitPrice"] or 0), 2)) for r in rows]


def day(text: str) -> date:
    return date.fromisoformat(text)


def next_day(text: str) -> str:
    return (day(text) + timedelta(days=1)).isoformat()
