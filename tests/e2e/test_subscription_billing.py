"""subscription_billing end to end on the sandbox: Crayon → Autotask and Pax8 → ConnectWise.

Every expected unit count, date and price is worked out here from the scenario (prices read from the
emulator's price list, the arithmetic done by hand), never by the code under test. Months: the
sandbox's next unpublished month is December 2026, then January 2027 (31 days each).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from channelsync.sandbox.control_client import SandboxControl
from channelsync.state import repository
from tests.e2e import billing_world as world
from tests.e2e.conftest import RunTemplate, last_seq, writes

MONTHLY = "CFQ7TTC0LDPB:0001:P1M:Monthly"  # Microsoft 365 Business Standard, monthly term
ANNUAL = "CFQ7TTC0LDPB:0001:P1Y:Annual"


def _items(state_url: str, run_id: int) -> list[dict[str, Any]]:
    return repository.list_items(state_url, run_id)


def _bill(run_template: RunTemplate, integration: str, **kwargs: Any) -> dict[str, Any]:
    return run_template("subscription_billing", integration, **kwargs)


@pytest.fixture()
def autotask_services(sandbox: SandboxControl, run_template: RunTemplate) -> dict[str, str]:
    result = run_template("service_catalog_sync", "demo-autotask")
    assert result["status"] in ("success", "warning"), result
    return world.service_ids(sandbox, "autotask")


def test_crayon_to_autotask_two_months(sandbox: SandboxControl, run_template: RunTemplate, state_store: str,
                                       autotask_services: dict[str, str]) -> None:
    price = world.crayon_rrp(sandbox, MONTHLY)  # per seat per month
    year_price = 12 * world.crayon_rrp(sandbox, ANNUAL)  # the list gives a month's price; billed a year at a time
    service = autotask_services[f"PC_{MONTHLY}"]
    annual_service = autotask_services[f"PC_{ANNUAL}"]

    # December: a new customer with 10 seats from 12/01; its contract runs 12/01/2026 – 11/30/2027.
    fabrikam = world.new_customer(sandbox, state_store, "demo-autotask", name="Fabrikam Test", offer=MONTHLY,
                                  quantity=10, day=1, contract_start="2026-12-01", contract_end="2027-11-30")
    world.publish(sandbox, "crayon")
    # Preview first: the plan (one adjustment, 10 seats from 12/01), nothing written.
    seq = last_seq(sandbox)
    preview = _bill(run_template, "demo-autotask", preview=True)
    assert preview["preview"] and preview["plan"]["adjust"] == 1, preview
    assert writes(sandbox, "autotask", since=seq) == []
    first = _bill(run_template, "demo-autotask")
    # The seeded customers are not mapped: listed, nothing posted for them, so the run is a Warning.
    assert first["status"] == "warning", first
    items = _items(state_store, first["run_id"])
    unmapped = [i for i in items if i["outcome"] == "unmapped"]
    assert unmapped and all("line(s), total" in i["error_message"] for i in unmapped)
    assert world.autotask_units(sandbox, fabrikam.contract_id, service, date(2027, 1, 1)) == [
        ("2026-12-01", "2026-12-31", 10, price)]

    # The same invoice ten more times: not one write.
    seq = last_seq(sandbox)
    for _ in range(10):
        again = _bill(run_template, "demo-autotask")
        assert again["status"] == "warning", again  # still the unmapped customers
    assert writes(sandbox, "autotask", since=seq) == []

    # A person sets December to 12 seats by hand: the invoice wins, and the item says what was overwritten.
    (december,) = [r for r in sandbox.records("autotask", "ContractServiceUnits")
                   if str(r["contractID"]) == fabrikam.contract_id and str(r["serviceID"]) == service
                   and r["startDate"].startswith("2026-12-01")]
    sandbox.edit_record("autotask", "ContractServiceUnits", december["id"], {"units": 12})
    seq = last_seq(sandbox)
    fixed = _bill(run_template, "demo-autotask")
    assert len(writes(sandbox, "autotask", since=seq)) == 1  # one adjustment of −2 seats from 12/01
    (edit,) = [i for i in _items(state_store, fixed["run_id"]) if i["outcome"] == "edit_overwritten"]
    assert "units from 2026-12-01: posted 10, set by hand to 12" in edit["error_message"], edit
    assert world.autotask_units(sandbox, fabrikam.contract_id, service, date(2027, 1, 1)) == [
        ("2026-12-01", "2026-12-31", 10, price)]

    # January: a credit for December's 10 seats, 5 annual seats from 01/05, 15 seats from 01/10, a new price
    # (20.00 retail) from 01/20, 12 seats from 01/25, Azure usage; a second customer with 3 seats from 01/15,
    # cancelled on 01/28; a third whose contract only starts in February.
    world.change(sandbox, "crayon", type="credit", subscription_id=int(fabrikam.subscription_id))
    annual = world.change(sandbox, "crayon", type="annual_subscription", tenant_id=int(fabrikam.tenant_id),
                          offer=ANNUAL, quantity=5, day=5)
    world.change(sandbox, "crayon", type="seat_change", subscription_id=int(fabrikam.subscription_id), quantity=15,
                 day=10)
    world.change(sandbox, "crayon", type="subscription_price", subscription_id=int(fabrikam.subscription_id),
                 unit_price="16.00", rrp="20.00", day=20)
    world.change(sandbox, "crayon", type="seat_change", subscription_id=int(fabrikam.subscription_id), quantity=12,
                 day=25)
    usage = world.change(sandbox, "crayon", type="usage", tenant_id=int(fabrikam.tenant_id), amount="123.45", day=1)
    northwind = world.new_customer(sandbox, state_store, "demo-autotask", name="Northwind Test", offer=MONTHLY,
                                   quantity=3, day=15, contract_start="2027-01-01", contract_end="2027-12-31")
    world.change(sandbox, "crayon", type="cancel", subscription_id=int(northwind.subscription_id), day=28)
    late = world.new_customer(sandbox, state_store, "demo-autotask", name="Late Contract Test", offer=MONTHLY,
                              quantity=4, day=1, contract_start="2027-02-01", contract_end="2028-01-31")
    world.publish(sandbox, "crayon")
    january = _bill(run_template, "demo-autotask", margin_floor_percent=30)
    items = _items(state_store, january["run_id"])
    assert [i for i in items if i["outcome"] == "quarantined"] == []  # every line of the scenario is postable
    # Reports: 20.00 retail on a 16.00 cost is a 20 % margin, under the 30 % floor; every month's prorated
    # amount in the PSA equals the distributor's lines to the cent (January: 10 × 15 × 9/31 + 15 × 15 × 10/31
    # + 15 × 20 × 5/31 + 12 × 20 × 7/31 = 218.71 = 150 − 106.45 + 159.68 − 87.10 + 116.13 − 67.74 + 54.19).
    flagged = [i for i in items if i["outcome"] == "margin_flagged"
               and i["source_key"].startswith(f"crayon:4401:{fabrikam.tenant_id}|{MONTHLY}")]
    assert len(flagged) == 1 and "sold at 20.00, costs 16.00 (20.0% margin): under floor" in flagged[0]["error_message"]
    assert [i for i in items if i["outcome"] == "proration_mismatch"] == []

    # Fabrikam's monthly seats: Autotask splits January at every change; February continues the last level.
    assert world.autotask_units(sandbox, fabrikam.contract_id, service, date(2027, 2, 2)) == [
        ("2026-12-01", "2026-12-31", 10, price),
        ("2027-01-01", "2027-01-09", 10, price),
        ("2027-01-10", "2027-01-19", 15, price),
        ("2027-01-20", "2027-01-24", 15, 20.0),
        ("2027-01-25", "2027-01-31", 12, 20.0),
        ("2027-02-01", "2027-02-28", 12, 20.0),
    ]
    # The annual subscription: its yearly service, 5 seats from 01/05 at the year's price.
    annual_rows = world.autotask_units(sandbox, fabrikam.contract_id, annual_service, date(2027, 2, 1))
    assert annual_rows[-2:] == [("2027-01-01", "2027-01-04", 0, year_price),
                                ("2027-01-05", "2027-01-31", 5, year_price)]
    # The December credit: one contract charge of −10 seats' retail price.
    charges = [c for c in sandbox.records("autotask", "ContractCharges")
               if str(c["contractID"]) == fabrikam.contract_id]
    assert [(c["unitQuantity"], round(float(c["unitPrice"]), 2)) for c in charges] == [(10, -price)]
    # Usage: one unit at the month's retail amount.
    usage_line = next(line for line in sandbox.records("crayon", "billingrecords")
                      if str(line["Subscription"]["Id"]) == str(usage["subscriptionId"]))
    usage_service = autotask_services[f"PC_{usage_line['Product']['PartNumber']}"]
    assert world.autotask_units(sandbox, fabrikam.contract_id, usage_service, date(2027, 2, 1))[-1] == (
        "2027-01-01", "2027-01-31", 1, round(float(usage_line["SubTotalRrp"]), 2))
    # Northwind: 3 seats 01/15–01/27, none from the cancellation.
    assert world.autotask_units(sandbox, northwind.contract_id, service, date(2027, 2, 1)) == [
        ("2027-01-01", "2027-01-14", 0, price), ("2027-01-15", "2027-01-27", 3, price),
        ("2027-01-28", "2027-01-31", 0, price)]
    # The late contract fails that customer only, with the catalog's explanation; nothing posted for it.
    late_items = [i for i in items if i["source_key"].endswith(f":{late.tenant_id}")]
    assert [i["error_code"] for i in late_items] == ["BILLING_CONTRACT_DATES"]
    assert "outside the contract's start and end dates" in late_items[0]["error_message"]
    assert not [r for r in sandbox.records("autotask", "ContractServiceUnits")
                if str(r["contractID"]) == late.contract_id and r["units"]]
    assert january["status"] == "failure"  # a customer task failed: on-call fixes the contract and clears it

    # January again: nothing more is written (the late customer is refused before any write).
    seq = last_seq(sandbox)
    _bill(run_template, "demo-autotask")
    assert writes(sandbox, "autotask", since=seq) == []
    assert annual["subscriptionId"]


def _pax8_sku_and_rrp(control: SandboxControl, nce_id: str) -> tuple[str, float]:
    """Pax8's canonical SKU of an NCE offer (product sku + term + cycle) and its retail per seat per month."""
    product_id, sku_id, term, cycle = nce_id.split(":")
    product = next(p for p in control.records("pax8", "products") if p["vendorSku"] == f"{product_id}:{sku_id}")
    pricing = next(p for p in control.records("pax8", "pricing") if p["key"] == nce_id)
    return f"{product['sku']}:{term}:{cycle}", float(pricing["rates"][0]["suggestedRetailPrice"])


@pytest.fixture()
def connectwise_services(sandbox: SandboxControl, run_template: RunTemplate) -> dict[str, str]:
    result = run_template("service_catalog_sync", "demo-connectwise")
    assert result["status"] in ("success", "warning"), result
    return world.service_ids(sandbox, "connectwise")


def test_pax8_to_connectwise_two_months(sandbox: SandboxControl, run_template: RunTemplate, state_store: str,
                                        connectwise_services: dict[str, str]) -> None:
    sku, price = _pax8_sku_and_rrp(sandbox, MONTHLY)
    product = connectwise_services[f"PC_{sku}"]

    contoso = world.new_customer(sandbox, state_store, "demo-connectwise", name="Contoso Test", offer=MONTHLY,
                                 quantity=10, day=1, contract_start="2026-12-01", contract_end=None)
    world.publish(sandbox, "pax8")
    first = _bill(run_template, "demo-connectwise")
    assert first["status"] == "warning", first  # the seeded Pax8 companies are unmapped
    assert world.cw_additions(sandbox, contoso.contract_id, product) == [("2026-12-01", None, 10, price)]
    seq = last_seq(sandbox)
    for _ in range(10):
        _bill(run_template, "demo-connectwise")
    assert writes(sandbox, "connectwise", since=seq) == []

    # January: 15 seats from 01/10, 20.00 retail from 01/20, an annual purchase (not postable as an addition
    # of a monthly agreement: a Warning item), and a second customer with 3 seats 01/15 – 01/27 (cancelled 01/28).
    world.change(sandbox, "pax8", type="seat_change", subscription_id=contoso.subscription_id, quantity=15, day=10)
    world.change(sandbox, "pax8", type="subscription_price", subscription_id=contoso.subscription_id,
                 unit_price="16.00", rrp="20.00", day=20)
    world.change(sandbox, "pax8", type="annual_subscription", company_id=contoso.tenant_id, offer=ANNUAL,
                 quantity=5, day=5)
    fourth = world.new_customer(sandbox, state_store, "demo-connectwise", name="Fourth Coffee Test", offer=MONTHLY,
                                quantity=3, day=15, contract_start="2027-01-01", contract_end=None)
    world.change(sandbox, "pax8", type="cancel", subscription_id=fourth.subscription_id, day=28)
    world.publish(sandbox, "pax8")
    january = _bill(run_template, "demo-connectwise")
    assert world.cw_additions(sandbox, contoso.contract_id, product) == [
        ("2026-12-01", "2027-01-09", 10, price), ("2027-01-10", "2027-01-19", 15, price),
        ("2027-01-20", None, 15, 20.0)]
    assert world.cw_additions(sandbox, fourth.contract_id, product) == [("2027-01-15", "2027-01-27", 3, price)]
    items = _items(state_store, january["run_id"])
    assert [i for i in items if i["outcome"] == "quarantined"] == []
    annual = [i for i in items if i["error_code"] == "BILLING_ANNUAL_ON_MONTHLY_AGREEMENT"]
    assert len(annual) == 1 and annual[0]["outcome"] == "not_posted_warning"
    assert january["status"] == "warning", january
    seq = last_seq(sandbox)
    _bill(run_template, "demo-connectwise")
    assert writes(sandbox, "connectwise", since=seq) == []
