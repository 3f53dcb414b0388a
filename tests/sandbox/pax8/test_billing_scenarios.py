"""The Pax8 emulator's billing scenarios over real HTTP, in Pax8's "delta" style, each item's figures
worked out here by hand: a customer credit, a one-time purchase, a subscription's mid-period price
change, Azure usage and the seeded annual renewal."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests

from channelsync.sandbox.control_client import SandboxControl

CENT, STEP = Decimal("0.01"), Decimal("0.000001")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _ratio(days: int, period: int) -> Decimal:
    return (Decimal(days) / Decimal(period)).quantize(STEP, rounding=ROUND_HALF_UP)


def _next_month(sandbox: SandboxControl) -> date:
    return date.fromisoformat(sandbox.control("pax8", "billing", method="GET")["nextMonth"] + "-01")


def _subscriptions(pax8: requests.Session, url: str) -> list[dict[str, Any]]:
    return pax8.get(f"{url}/subscriptions", params={"size": 200}, timeout=10).json(
        parse_float=Decimal)["content"]  # type: ignore[no-any-return]


def _published(sandbox: SandboxControl, pax8: requests.Session, url: str) -> list[dict[str, Any]]:
    invoice = sandbox.control("pax8", "invoices/publish")["invoice"]
    items = pax8.get(f"{url}/invoices/{invoice['id']}/items", params={"size": 200}, timeout=10).json(
        parse_float=Decimal)["content"]
    assert sum((i["amountDue"] for i in items), Decimal("0")) == Decimal(str(invoice["total"]))
    return items  # type: ignore[no-any-return]


def _shape(item: dict[str, Any]) -> tuple[Any, ...]:
    return (item["type"], item["term"], item["startPeriod"], item["endPeriod"], item["quantity"], item["cost"],
            item["costTotal"])


def _monthly_seat(subs: list[dict[str, Any]], before: date) -> dict[str, Any]:
    return next(s for s in subs if s["billingTerm"] == "Monthly" and s.get("commitmentTerm", {}).get("term") == "1-Year"
                and date.fromisoformat(s["startDate"][:10]) < before and s["status"] == "Active"
                and int(s["startDate"][5:7]) != before.month)


def test_customer_credit_is_a_service_credit_item(sandbox: SandboxControl, pax8: requests.Session,
                                                  pax8_url: str) -> None:
    month = _next_month(sandbox)
    last = (month - timedelta(days=1)).replace(day=1)
    days = calendar.monthrange(last.year, last.month)[1]
    sub = _monthly_seat(_subscriptions(pax8, pax8_url), last)
    sandbox.control("pax8", "changes", json={"type": "credit", "subscription_id": sub["id"], "day": 3,
                                             "from": last.replace(day=21).isoformat(), "quantity": 1})
    (item,) = [i for i in _published(sandbox, pax8, pax8_url) if i["type"] == "service-credit"]
    unit = sub["partnerCost"]
    ratio = -_ratio(days - 20, days)  # the 21st to the month's end
    assert _shape(item) == ("service-credit", "Monthly", last.replace(day=21).isoformat(),
                            last.replace(day=days).isoformat(), 1, unit, _cents(unit * ratio))
    assert item["subscriptionId"] == sub["id"] and item["amountDue"] == item["costTotal"] < 0
    assert item["details"] == f"customerCredit; {days - 20} of {days} days; billable ratio {ratio}"


def test_one_time_purchase_is_a_one_time_item(sandbox: SandboxControl, pax8: requests.Session, pax8_url: str) -> None:
    month = _next_month(sandbox)
    company = pax8.get(f"{pax8_url}/companies", timeout=10).json()["content"][0]["id"]
    answer = sandbox.control("pax8", "changes", json={"type": "one_time", "company_id": company, "day": 9,
                                                      "quantity": 2, "unit_price": 40, "rrp": 50})["accepted"][0]
    record = pax8.get(f"{pax8_url}/subscriptions/{answer['subscriptionId']}", timeout=10).json()
    assert (record["billingTerm"], record["quantity"], record["companyId"]) == ("One-Time", 2, company)
    (item,) = [i for i in _published(sandbox, pax8, pax8_url) if i["type"] == "one-time"]
    day = month.replace(day=9).isoformat()
    assert _shape(item) == ("one-time", "One-Time", day, day, 2, Decimal("40.0"), Decimal("80.0"))
    assert item["subTotal"] == Decimal("100.0") and item["sku"].startswith("MST-ONE-")
    assert not [i for i in _published(sandbox, pax8, pax8_url) if i["subscriptionId"] == answer["subscriptionId"]]


def test_subscription_price_change_is_a_credit_and_a_charge(sandbox: SandboxControl, pax8: requests.Session,
                                                            pax8_url: str) -> None:
    month = _next_month(sandbox)
    days = calendar.monthrange(month.year, month.month)[1]
    sub = _monthly_seat(_subscriptions(pax8, pax8_url), month)
    old, quantity = sub["partnerCost"], sub["quantity"]
    new = old - Decimal("0.75")
    sandbox.control("pax8", "changes", json={"type": "subscription_price", "subscription_id": sub["id"], "day": 21,
                                             "unit_price": str(new)})
    assert pax8.get(f"{pax8_url}/subscriptions/{sub['id']}", timeout=10).json(parse_float=Decimal)["partnerCost"] == new
    items = [i for i in _published(sandbox, pax8, pax8_url) if i["subscriptionId"] == sub["id"]]
    first, last, mid = month.isoformat(), month.replace(day=days).isoformat(), month.replace(day=21).isoformat()
    rest = _ratio(days - 20, days)
    assert [_shape(i) for i in items] == [
        ("subscription", "Monthly", first, last, quantity, old, _cents(quantity * old)),
        ("prorate", "Monthly", mid, last, -quantity, old, _cents(-quantity * old * rest)),
        ("prorate", "Monthly", mid, last, quantity, new, _cents(quantity * new * rest)),
    ]
    following = [i for i in _published(sandbox, pax8, pax8_url) if i["subscriptionId"] == sub["id"]]
    assert [(i["type"], i["cost"]) for i in following] == [("subscription", new)]


def test_usage_items_and_the_seeded_annual_renewal(sandbox: SandboxControl, pax8: requests.Session,
                                                   pax8_url: str) -> None:
    month = _next_month(sandbox)
    days = calendar.monthrange(month.year, month.month)[1]
    subs = _subscriptions(pax8, pax8_url)
    azure = next(s for s in subs if s["productName"] == "Azure plan")
    sandbox.control("pax8", "changes", json={"type": "usage", "subscription_id": azure["id"], "amount": 412.5})
    items = _published(sandbox, pax8, pax8_url)
    (usage,) = [i for i in items if i["subscriptionId"] == azure["id"]]
    assert _shape(usage) == ("subscription", "Arrears", month.isoformat(), month.replace(day=days).isoformat(), 1,
                             Decimal("412.5"), Decimal("412.5"))
    annual = [i for i in items if i["term"] == "Annual" and i["type"] == "subscription"]
    assert annual, "no annual renewal in the first published month"
    year_end = date(month.year + 1, month.month, 1) - timedelta(days=1)
    assert (annual[0]["startPeriod"], annual[0]["endPeriod"]) == (month.isoformat(), year_end.isoformat())
    assert annual[0]["costTotal"] == _cents(annual[0]["quantity"] * annual[0]["cost"])


def test_bad_scenario_changes_are_refused(sandbox: SandboxControl, pax8: requests.Session, pax8_url: str,
                                          sandbox_server: Any) -> None:
    month = _next_month(sandbox)
    subs = _subscriptions(pax8, pax8_url)
    seat = _monthly_seat(subs, month)
    url = f"{sandbox_server.url}/_sandbox/pax8/changes"
    for change in ({"type": "credit", "subscription_id": seat["id"], "from": month.isoformat(),
                    "to": month.isoformat()},
                   {"type": "usage", "subscription_id": seat["id"], "amount": 5},
                   {"type": "subscription_price", "subscription_id": "nope", "unit_price": 1},
                   {"type": "one_time", "company_id": "nope"}):
        assert requests.post(url, json=change, timeout=10).status_code == 400, change


def test_scenario_items_conform_to_the_spec(sandbox: SandboxControl, pax8: requests.Session, pax8_url: str,
                                            conforms: Any) -> None:
    month = _next_month(sandbox)
    last = (month - timedelta(days=1)).replace(day=1)
    seat = _monthly_seat(_subscriptions(pax8, pax8_url), last)
    answers = sandbox.control("pax8", "changes", json={"changes": [
        {"type": "credit", "subscription_id": seat["id"], "day": 2},
        {"type": "one_time", "day": 4},
        {"type": "subscription_price", "subscription_id": seat["id"], "day": 12, "unit_price": 1},
        {"type": "usage", "day": 6, "amount": 12},
    ]})["accepted"]
    invoice = sandbox.control("pax8", "invoices/publish")["invoice"]
    page = pax8.get(f"{pax8_url}/invoices/{invoice['id']}/items", params={"size": 200}, timeout=10).json()
    conforms(page, "/invoices/{invoiceId}/items")
    assert {"service-credit", "one-time", "prorate", "subscription"} <= {i["type"] for i in page["content"]}
    for answer in answers:
        conforms(pax8.get(f"{pax8_url}/subscriptions/{answer['subscriptionId']}", timeout=10).json(),
                 "/subscriptions/{subscriptionId}")
