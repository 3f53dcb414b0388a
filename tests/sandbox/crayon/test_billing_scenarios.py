"""The Crayon emulator's billing scenarios over real HTTP, each line's figures worked out here by hand:
a customer credit, a one-time purchase, a subscription's mid-period price change, Azure usage, the
seeded annual renewal; and requests read case-insensitively (query, form, JSON), as ASP.NET binds them."""

from __future__ import annotations

import base64
import calendar
import json
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests

from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.demo_credentials import CRAYON
from tests.sandbox.crayon.wire import assert_pascal

CENT, STEP = Decimal("0.01"), Decimal("0.000001")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _ratio(days: int, period: int) -> Decimal:
    return (Decimal(days) / Decimal(period)).quantize(STEP, rounding=ROUND_HALF_UP)


def _next_month(sandbox: SandboxControl) -> date:
    return date.fromisoformat(sandbox.control("crayon", "billing", method="GET")["nextMonth"] + "-01")


def _subscriptions(crayon: requests.Session, url: str) -> list[dict[str, Any]]:
    return crayon.get(f"{url}/Subscriptions", params={"PageSize": 500}, timeout=10).json(
        parse_float=Decimal)["Items"]  # type: ignore[no-any-return]


def _published(sandbox: SandboxControl, crayon: requests.Session, url: str) -> dict[int, list[dict[str, Any]]]:
    """Publish the next month: {ProvisionType: its statement's lines}."""
    out = {}
    for statement in sandbox.control("crayon", "invoices/publish")["billingStatements"]:
        body = crayon.get(f"{url}/BillingStatements/{statement['Id']}/billingrecordsfile", timeout=10).json()
        lines = json.loads(base64.b64decode(body["Data"]), parse_float=Decimal)
        assert_pascal(lines)
        assert sum((Decimal(str(ln["SubTotal"])) for ln in lines), Decimal("0")) == \
            Decimal(str(statement["TotalSalesPrice"]["Value"])).quantize(CENT)
        out[statement["ProvisionType"]] = lines
    return out


def _shape(line: dict[str, Any]) -> tuple[Any, ...]:
    return (line["ChargeType"], line["ChargeStartDate"], line["ChargeEndDate"], line["Quantity"],
            Decimal(str(line["UnitPrice"])), Decimal(str(line["BillableRatio"])), Decimal(str(line["SubTotal"])))


def _monthly_seat(subs: list[dict[str, Any]], before: date) -> dict[str, Any]:
    """A monthly-billed, one-year-term seat subscription (its price is locked all year) bought before
    ``before``, whose anniversary is not that month (so the month's own line is a ``cycleCharge``)."""
    return next(s for s in subs if s["BillingCycle"] == 1 and s["TermDuration"] == "P1Y" and s["ProvisionType"] == 1
                and date.fromisoformat(s["StartDate"][:10]) < before and s["Status"] == 1
                and int(s["StartDate"][5:7]) != before.month)


def test_customer_credit_for_a_past_stretch(sandbox: SandboxControl, crayon: requests.Session, crayon_url: str) -> None:
    month = _next_month(sandbox)
    last = (month - timedelta(days=1)).replace(day=1)  # the last invoiced month
    days = calendar.monthrange(last.year, last.month)[1]
    sub = _monthly_seat(_subscriptions(crayon, crayon_url), last)
    answer = sandbox.control("crayon", "changes", json={
        "type": "credit", "subscription_id": sub["Id"], "day": 5, "from": last.replace(day=11).isoformat(),
        "to": last.replace(day=days).isoformat(), "quantity": 2})
    assert answer["accepted"][0]["subscriptionId"] == sub["Id"]
    lines = _published(sandbox, crayon, crayon_url)[1]
    credit = [ln for ln in lines if ln["ChargeType"] == "customerCredit"]
    # 2 seats at the monthly price, 11th to the month's end credited: ratio -(days - 10) / days.
    unit = Decimal(str(sub["SalesPrice"]))
    ratio = -_ratio(days - 10, days)
    assert [_shape(ln) for ln in credit] == [("customerCredit", last.replace(day=11).isoformat(),
                                              last.replace(day=days).isoformat(), 2, unit, ratio,
                                              _cents(2 * unit * ratio))]
    assert (credit[0]["DaysBilled"], credit[0]["DaysInPeriod"], credit[0]["Subscription"]["Id"]) == \
        (days - 10, days, sub["Id"])
    assert credit[0]["ReferenceId"] and credit[0]["SubTotal"] < 0


def test_one_time_purchase_is_one_line_on_its_own_statement(sandbox: SandboxControl, crayon: requests.Session,
                                                            crayon_url: str) -> None:
    month = _next_month(sandbox)
    tenant_id = crayon.get(f"{crayon_url}/CustomerTenants", timeout=10).json()["Items"][0]["Id"]
    answer = sandbox.control("crayon", "changes", json={
        "type": "one_time", "tenant_id": tenant_id, "day": 7, "quantity": 3, "unit_price": "100.00", "rrp": "120.00",
        "name": "Windows Server 2022 Standard - 2 Core"})["accepted"][0]
    record = crayon.get(f"{crayon_url}/Subscriptions/{answer['subscriptionId']}", timeout=10).json()
    assert (record["BillingCycle"], record["ProvisionType"], record["Quantity"], record["AutoRenewEnabled"]) == \
        (4, 3, 3, False)
    statements = _published(sandbox, crayon, crayon_url)
    day = month.replace(day=7).isoformat()
    (line,) = statements[3]  # ProvisionType OneTime
    assert _shape(line) == ("new", day, day, 3, Decimal("100.0"), Decimal("1.0"), Decimal("300.0"))
    assert (line["BillingCycle"], line["SubTotalRrp"], line["CustomerTenant"]["Id"]) == ("OneTime", 360, tenant_id)
    assert all(ln["Subscription"]["Id"] != answer["subscriptionId"] for ln in statements[1])
    # Nothing recurs the month after.
    following = _published(sandbox, crayon, crayon_url)
    assert 3 not in following and all(ln["Subscription"]["Id"] != answer["subscriptionId"] for ln in following[1])


def test_subscription_price_change_mid_period_is_a_reversal_and_a_charge(sandbox: SandboxControl,
                                                                          crayon: requests.Session,
                                                                          crayon_url: str) -> None:
    month = _next_month(sandbox)
    days = calendar.monthrange(month.year, month.month)[1]
    sub = _monthly_seat(_subscriptions(crayon, crayon_url), month)
    old, quantity = Decimal(str(sub["SalesPrice"])), sub["Quantity"]
    new = old + Decimal("1.50")
    sandbox.control("crayon", "changes", json={"type": "subscription_price", "subscription_id": sub["Id"], "day": 16,
                                               "unit_price": str(new)})
    assert Decimal(str(crayon.get(f"{crayon_url}/Subscriptions/{sub['Id']}", timeout=10).json(
        parse_float=Decimal)["SalesPrice"])) == new
    lines = [ln for ln in _published(sandbox, crayon, crayon_url)[1] if ln["Subscription"]["Id"] == sub["Id"]]
    first, last, mid = month.isoformat(), month.replace(day=days).isoformat(), month.replace(day=16).isoformat()
    rest = _ratio(days - 15, days)  # the 16th to the end, inclusive
    assert [_shape(ln) for ln in lines] == [
        ("cycleCharge", first, last, quantity, old, Decimal("1.0"), _cents(quantity * old)),
        ("cycleCharge", mid, last, quantity, old, -rest, _cents(quantity * old * -rest)),
        ("cycleCharge", mid, last, quantity, new, rest, _cents(quantity * new * rest)),
    ]
    assert lines[0]["ReferenceId"] is None and lines[1]["ReferenceId"] == lines[2]["ReferenceId"] is not None
    # From the next month on, the new price (renewals keep it).
    following = [ln for ln in _published(sandbox, crayon, crayon_url)[1] if ln["Subscription"]["Id"] == sub["Id"]]
    assert [Decimal(str(ln["UnitPrice"])) for ln in following] == [new]


def test_usage_lines_and_the_seeded_annual_renewal(sandbox: SandboxControl, crayon: requests.Session,
                                                   crayon_url: str) -> None:
    month = _next_month(sandbox)
    days = calendar.monthrange(month.year, month.month)[1]
    subs = _subscriptions(crayon, crayon_url)
    azure = next(s for s in subs if s["ProvisionType"] == 2)
    tenant_id = subs[0]["CustomerTenant"]["Id"]
    answers = sandbox.control("crayon", "changes", json={"changes": [
        {"type": "usage", "subscription_id": azure["Id"], "amount": "250.00"},
        {"type": "usage", "tenant_id": tenant_id, "day": 10, "amount": 80},
    ]})["accepted"]
    fresh = answers[1]["subscriptionId"]
    statements = _published(sandbox, crayon, crayon_url)
    usage = {ln["Subscription"]["Id"]: ln for ln in statements[2]}
    end = month.replace(day=days).isoformat()
    assert _shape(usage[azure["Id"]]) == ("usage", month.isoformat(), end, 1, Decimal("250.0"), Decimal("1.0"),
                                          Decimal("250.0"))
    assert usage[azure["Id"]]["SubTotalRrp"] == _cents(Decimal(250) / Decimal("0.85"))
    assert _shape(usage[fresh]) == ("usage", month.replace(day=10).isoformat(), end, 1, Decimal("80.0"),
                                    Decimal("1.0"), Decimal("80.0"))
    # The seeded mix renews an annual subscription in the first month the scenarios publish.
    annual = [ln for ln in statements[1] if ln["BillingCycle"] == "Annual" and ln["ChargeType"] == "renew"]
    assert annual, "no annual renewal in the first published month"
    year_end = date(month.year + 1, month.month, 1).toordinal() - 1
    assert annual[0]["ChargeStartDate"] == month.isoformat()
    assert annual[0]["ChargeEndDate"] == date.fromordinal(year_end).isoformat()
    assert annual[0]["DaysInPeriod"] == year_end - month.toordinal() + 1 and annual[0]["BillableRatio"] == 1.0


def test_bad_scenario_changes_are_refused(sandbox: SandboxControl, crayon: requests.Session, crayon_url: str,
                                          sandbox_server: Any) -> None:
    month = _next_month(sandbox)
    subs = _subscriptions(crayon, crayon_url)
    seat = _monthly_seat(subs, month)
    azure = next(s for s in subs if s["ProvisionType"] == 2)
    url = f"{sandbox_server.url}/_sandbox/crayon/changes"
    for change in (
        {"type": "credit", "subscription_id": seat["Id"], "from": month.isoformat(), "to": month.isoformat()},  # future
        {"type": "credit", "subscription_id": azure["Id"]},  # usage
        {"type": "credit", "subscription_id": seat["Id"], "from": "2020-01-01", "to": "2020-01-31"},  # before it
        {"type": "subscription_price", "subscription_id": azure["Id"], "unit_price": 3},
        {"type": "subscription_price", "subscription_id": seat["Id"]},  # no price
        {"type": "usage", "subscription_id": seat["Id"], "amount": 10},  # not an Azure plan
        {"type": "one_time", "quantity": 0},
        {"type": "one_time", "tenant_id": 1},
    ):
        answer = requests.post(url, json=change, timeout=10)
        assert answer.status_code == 400 and answer.json()["error"], change


def test_requests_are_read_case_insensitively(sandbox: SandboxControl, crayon: requests.Session,
                                              crayon_url: str) -> None:
    token = requests.post(f"{crayon_url}/connect/token", auth=(CRAYON["client_id"], CRAYON["client_secret"]),
                          data={"GRANT_TYPE": "password", "UserName": CRAYON["username"],
                                "PASSWORD": CRAYON["password"], "Scope": "CustomerApi"}, timeout=10)
    assert token.status_code == 200 and token.json()["AccessToken"]
    pages = [crayon.get(f"{crayon_url}/subscriptions", params={name: 2, "PAGE": 2}, timeout=10).json()
             for name in ("PageSize", "pagesize", "PAGESIZE")]
    assert pages[0] == pages[1] == pages[2] and len(pages[0]["Items"]) == 2
    tenant = crayon.get(f"{crayon_url}/CustomerTenants", params={"organizationid": 4401}, timeout=10).json()["Items"][0]
    part = crayon.get(f"{crayon_url}/AgreementProducts", params={"pageSize": 1}, timeout=10).json()[
        "Items"][0]["ProductVariant"]["PartNumber"]
    for body in ({"customerTenant": {"id": tenant["Id"]}, "partNumber": part, "quantity": 2},
                 {"CustomerTenant": {"Id": tenant["Id"]}, "PartNumber": part, "Quantity": 3},
                 {"CUSTOMERTENANT": {"ID": tenant["Id"]}, "partnumber": part, "QUANTITY": 4}):
        created = crayon.post(f"{crayon_url}/Subscriptions", json=body, timeout=10)
        assert created.status_code == 200, created.text
        assert created.json()["Quantity"] == next(v for k, v in body.items() if k.lower() == "quantity")
        updated = crayon.put(f"{crayon_url}/Subscriptions/{created.json()['Id']}", json={"qUaNtItY": 9}, timeout=10)
        assert updated.status_code == 200 and updated.json()["Quantity"] == 9
    missing = crayon.post(f"{crayon_url}/Subscriptions", json={"QUANTITY": 1}, timeout=10)
    assert missing.status_code == 400 and set(missing.json()["Parameters"]) == {"CustomerTenant", "PartNumber"}


def test_scenario_records_conform_to_the_spec(sandbox: SandboxControl, crayon: requests.Session, crayon_url: str,
                                              conforms: Any) -> None:
    month = _next_month(sandbox)
    seat = _monthly_seat(_subscriptions(crayon, crayon_url), (month - timedelta(days=1)).replace(day=1))
    answers = sandbox.control("crayon", "changes", json={"changes": [
        {"type": "credit", "subscription_id": seat["Id"], "day": 2},
        {"type": "one_time", "day": 4},
        {"type": "subscription_price", "subscription_id": seat["Id"], "day": 12, "unit_price": 1},
        {"type": "usage", "day": 6, "amount": 12},
    ]})["accepted"]
    for answer in answers:
        conforms(crayon.get(f"{crayon_url}/Subscriptions/{answer['subscriptionId']}", timeout=10).json(),
                 "/Subscriptions/{id}")
    published = sandbox.control("crayon", "invoices/publish")["billingStatements"]
    assert sorted(s["ProvisionType"] for s in published) == [1, 2, 3]
    statements = crayon.get(f"{crayon_url}/BillingStatements", timeout=10).json()
    conforms(statements, "/BillingStatements")
