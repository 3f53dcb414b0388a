"""The Crayon emulator over real HTTP: the PascalCase wire, conformance to the spec, requests read
case-insensitively, auth, paging, errors, billing levers."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests

from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.demo_credentials import CRAYON
from tests.sandbox.crayon.wire import assert_pascal


def _lines(session: requests.Session, url: str, statement_id: int) -> list[dict[str, Any]]:
    body = session.get(f"{url}/BillingStatements/{statement_id}/billingrecordsfile", timeout=10).json()
    lines = json.loads(base64.b64decode(body["Data"]), parse_float=Decimal)
    assert_pascal(lines, "billing records")
    return lines  # type: ignore[no-any-return]


def _check_arithmetic(statement: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    total = Decimal("0.00")
    for line in lines:
        ratio = Decimal(str(line["BillableRatio"]))
        expected_ratio = (Decimal(line["DaysBilled"]) / Decimal(line["DaysInPeriod"])).quantize(
            Decimal("0.000001"), rounding=ROUND_HALF_UP)
        assert abs(ratio) == expected_ratio, line
        amount = (Decimal(line["Quantity"]) * Decimal(str(line["UnitPrice"])) * ratio).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert amount == Decimal(str(line["SubTotal"])), line
        rrp = (Decimal(line["Quantity"]) * Decimal(str(line["UnitPriceRrp"])) * ratio).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert rrp == Decimal(str(line["SubTotalRrp"])), line
        total += amount
    assert total == Decimal(str(statement["TotalSalesPrice"]["Value"])).quantize(Decimal("0.01"))


def test_every_read_conforms_to_the_spec(crayon: requests.Session, crayon_url: str, conforms: Any,
                                         token_request: Any) -> None:
    token = token_request(crayon_url)
    assert token.status_code == 200 and token.json()["ExpiresIn"] == 3600 and token.json()["TokenType"] == "Bearer"
    conforms(token.json(), "/connect/token", "post")
    conforms(crayon.get(f"{crayon_url}/Me", timeout=10).json(), "/Me")
    conforms(crayon.get(f"{crayon_url}/Organizations", timeout=10).json(), "/Organizations")
    conforms(crayon.get(f"{crayon_url}/Organizations/4401", timeout=10).json(), "/Organizations/{id}")
    tenants = crayon.get(f"{crayon_url}/CustomerTenants", params={"OrganizationId": 4401}, timeout=10).json()
    conforms(tenants, "/CustomerTenants")
    tenant_id = tenants["Items"][0]["Id"]
    conforms(crayon.get(f"{crayon_url}/CustomerTenants/{tenant_id}", timeout=10).json(), "/CustomerTenants/{id}")
    conforms(crayon.get(f"{crayon_url}/CustomerTenants/{tenant_id}/detailed", timeout=10).json(),
             "/CustomerTenants/{id}/detailed")
    subs = crayon.get(f"{crayon_url}/Subscriptions", params={"CustomerTenantId": tenant_id}, timeout=10).json()
    conforms(subs, "/Subscriptions")
    conforms(crayon.get(f"{crayon_url}/Subscriptions/{subs['Items'][0]['Id']}", timeout=10).json(),
             "/Subscriptions/{id}")
    conforms(crayon.get(f"{crayon_url}/AgreementProducts", timeout=10).json(), "/AgreementProducts")
    statements = crayon.get(f"{crayon_url}/BillingStatements", timeout=10).json()
    conforms(statements, "/BillingStatements")
    statement_id = statements["Items"][0]["Id"]
    for kind in ("billingrecordsfile", "reconciliationfile"):
        conforms(crayon.get(f"{crayon_url}/BillingStatements/{statement_id}/{kind}", timeout=10).json(),
                 f"/BillingStatements/{{id}}/{kind}")


def test_world_data_agrees_with_the_other_systems(sandbox: SandboxControl, crayon: requests.Session,
                                                  crayon_url: str, sandbox_server: Any) -> None:
    world = sandbox_server.app.context.world
    expected = {c.key: c for c in world.customers if c.billing_distributor == "crayon"}
    tenants = crayon.get(f"{crayon_url}/CustomerTenants", params={"PageSize": 500}, timeout=10).json()["Items"]
    assert {t["Reference"] for t in tenants} == set(expected)
    assert all(t["PublisherCustomerId"] == expected[t["Reference"]].tenant_id for t in tenants)
    subs = crayon.get(f"{crayon_url}/Subscriptions", params={"PageSize": 500}, timeout=10).json()["Items"]
    nce_ids = {o.nce_id for o in world.offers}
    assert subs and all(s["PartNumber"] in nce_ids and s["PartNumber"].count(":") == 3 for s in subs)
    assert {s["TermDuration"] for s in subs} >= {"P1M", "P1Y"}
    # The seeded mix: annual billing and an Azure plan, whatever the world's random draw.
    assert {s["BillingCycle"] for s in subs} >= {1, 2, 3} and any(s["ProvisionType"] == 2 for s in subs)


def test_auth_errors_and_token_expiry(sandbox: SandboxControl, crayon: requests.Session, crayon_url: str) -> None:
    assert requests.get(f"{crayon_url}/Organizations", timeout=10).status_code == 401
    bad_client = requests.post(f"{crayon_url}/connect/token", auth=("nope", "wrong"), timeout=10,
                               data={"grant_type": "password", "username": "x", "password": "y"})
    assert bad_client.status_code == 400 and bad_client.json()["Error"] == "invalid_client"
    assert set(bad_client.json()) == {"AccessToken", "IdentityToken", "Error", "ExpiresIn", "TokenType",
                                      "RefreshToken"} and bad_client.json()["AccessToken"] is None
    bad_user = requests.post(f"{crayon_url}/connect/token", auth=(CRAYON["client_id"], CRAYON["client_secret"]),
                             data={"grant_type": "password", "username": CRAYON["username"], "password": "wrong"},
                             timeout=10)
    assert (bad_user.status_code, bad_user.json()["Error"]) == (400, "invalid_grant")
    assert crayon.get(f"{crayon_url}/Me", timeout=10).status_code == 200
    sandbox.advance_clock(seconds=3601)
    expired = crayon.get(f"{crayon_url}/Me", timeout=10)
    assert expired.status_code == 401 and expired.content == b"" and "Bearer" in expired.headers["WWW-Authenticate"]


def test_malformed_requests_get_the_error_shape(crayon: requests.Session, crayon_url: str) -> None:
    shape = {"ErrorCode", "Message", "Parameters", "ObjectErrors"}
    wrong_type = crayon.get(f"{crayon_url}/Subscriptions", params={"Page": "abc"}, timeout=10)
    assert wrong_type.status_code == 400 and set(wrong_type.json()) == shape
    assert "Page" in wrong_type.json()["Parameters"]
    zero = crayon.get(f"{crayon_url}/CustomerTenants", params={"PageSize": 0}, timeout=10)
    assert zero.status_code == 400 and zero.json()["ErrorCode"] == "400 BadRequest"
    bad_json = crayon.post(f"{crayon_url}/Subscriptions", data=b"{not json", timeout=10,
                           headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and set(bad_json.json()) == shape
    missing = crayon.post(f"{crayon_url}/Subscriptions", json={"quantity": 3}, timeout=10)
    assert missing.status_code == 400 and set(missing.json()["Parameters"]) == {"CustomerTenant", "PartNumber"}
    typed = crayon.post(f"{crayon_url}/Subscriptions", timeout=10,
                        json={"customerTenant": {"id": "x"}, "partNumber": "A:B:P1M:Monthly", "quantity": "3"})
    assert typed.status_code == 400 and set(typed.json()) == shape
    missing_sub = crayon.get(f"{crayon_url}/Subscriptions/1", timeout=10)
    assert missing_sub.status_code == 404 and missing_sub.json()["ErrorCode"] == "404 NotFound"
    assert crayon.get(f"{crayon_url}/Nowhere", timeout=10).json()["ErrorCode"] == "404 NotFound"


def test_paging_reads_every_record_once(sandbox: SandboxControl, crayon: requests.Session, crayon_url: str) -> None:
    total = crayon.get(f"{crayon_url}/Subscriptions", params={"PageSize": 1}, timeout=10).json()["TotalHits"]
    assert total > 7
    sandbox.clear_requests()
    seen: list[int] = []
    page = 1
    while True:
        body = crayon.get(f"{crayon_url}/Subscriptions", params={"Page": page, "PageSize": 7}, timeout=10).json()
        seen += [item["Id"] for item in body["Items"]]
        if len(body["Items"]) < 7:
            break
        page += 1
    assert len(seen) == len(set(seen)) == total
    log = sandbox.requests("crayon")
    assert len(log) == total // 7 + 1
    assert all("PageSize=7" in entry["query"] for entry in log)


def test_publish_and_mid_month_changes(sandbox: SandboxControl, crayon: requests.Session, crayon_url: str) -> None:
    subs = crayon.get(f"{crayon_url}/Subscriptions", params={"PageSize": 500}, timeout=10).json()["Items"]
    seats = [s for s in subs if s["ProvisionType"] == 1 and s["BillingCycle"] == 1]
    before = crayon.get(f"{crayon_url}/BillingStatements", timeout=10).json()["TotalHits"]
    product = next(p for p in crayon.get(f"{crayon_url}/AgreementProducts", params={"PageSize": 100},
                                         timeout=10).json()["Items"] if p["MonthMultiplier"] == 1)
    part = product["ProductVariant"]["PartNumber"]
    answer = sandbox.control("crayon", "changes", json={"changes": [
        {"type": "seat_change", "subscription_id": seats[0]["Id"], "day": 8, "quantity": seats[0]["Quantity"] + 20},
        {"type": "seat_change", "subscription_id": seats[1]["Id"], "day": 12, "quantity": 1},
        {"type": "cancel", "subscription_id": seats[2]["Id"], "day": 20},
        {"type": "price_change", "offer": part, "day": 3, "unit_price": "7.77", "rrp": "9.99"},
        {"type": "new_tenant", "day": 9, "name": "Brand New Tenant", "quantity": 4},
        {"type": "annual_subscription", "day": 15, "quantity": 6},
        {"type": "retire_product", "offer": part, "day": 25},
    ]})
    assert len(answer["accepted"]) == 7
    assert crayon.get(f"{crayon_url}/Subscriptions/{seats[0]['Id']}", timeout=10).json()["Quantity"] == \
        seats[0]["Quantity"] + 20
    assert crayon.get(f"{crayon_url}/Subscriptions/{seats[2]['Id']}", timeout=10).json()["Status"] == 4
    listed = crayon.get(f"{crayon_url}/AgreementProducts", params={"PageSize": 100}, timeout=10).json()["Items"]
    assert part not in {p["ProductVariant"]["PartNumber"] for p in listed}
    tenants = crayon.get(f"{crayon_url}/CustomerTenants", params={"Search": "Brand New"}, timeout=10).json()
    assert tenants["TotalHits"] == 1
    published = sandbox.control("crayon", "invoices/publish")
    assert published["month"] == answer["month"]
    statements = crayon.get(f"{crayon_url}/BillingStatements", timeout=10).json()
    assert statements["TotalHits"] == before + len(published["billingStatements"])
    newest = next(s for s in statements["Items"] if s["ProvisionType"] == 1 and
                  s["StartDate"].startswith(published["month"]))
    lines = _lines(crayon, crayon_url, newest["Id"])
    _check_arithmetic(newest, lines)
    kinds = Counter(line["ChargeType"] for line in lines)
    assert kinds["addQuantity"] == 2 and kinds["removeQuantity"] == 2 and kinds["cancelImmediate"] == 1
    assert kinds["new"] == 2  # the new tenant's subscription and the annual one
    increase = [ln for ln in lines if ln["ChargeType"] == "addQuantity"]
    assert [ln["ChargeStartDate"][8:] for ln in increase] == ["08", "08"]
    assert sorted(Decimal(str(ln["BillableRatio"])) for ln in increase)[0] < 0  # the reversal of the old quantity
    assert len({ln["ReferenceId"] for ln in increase}) == 1  # one change: one reference id
    annual = next(ln for ln in lines if ln["ChargeType"] == "new" and ln["BillingCycle"] == "Annual")
    assert annual["DaysInPeriod"] >= 365 and annual["Quantity"] == 6
    # The CSV says the same as the JSON.
    csv_body = crayon.get(f"{crayon_url}/BillingStatements/{newest['Id']}/reconciliationfile", timeout=10).json()
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(csv_body["Data"]).decode("utf-8-sig"))))
    assert [Decimal(r["SubTotal"]) for r in rows] == [Decimal(str(ln["SubTotal"])).quantize(Decimal("0.01"))
                                                     for ln in lines]


def test_every_published_month_adds_up(sandbox: SandboxControl, crayon: requests.Session, crayon_url: str) -> None:
    subs = crayon.get(f"{crayon_url}/Subscriptions", params={"PageSize": 500}, timeout=10).json()["Items"]
    for month in range(3):
        sub = subs[month]
        sandbox.control("crayon", "changes", json={"type": "seat_change", "subscription_id": sub["Id"],
                                                   "day": 5 + month * 7, "quantity": sub["Quantity"] + month + 1})
        sandbox.control("crayon", "invoices/publish")
    statements = crayon.get(f"{crayon_url}/BillingStatements", params={"PageSize": 50}, timeout=10).json()["Items"]
    assert len(statements) >= 6
    for statement in statements:
        _check_arithmetic(statement, _lines(crayon, crayon_url, statement["Id"]))


def test_bad_changes_are_refused(sandbox: SandboxControl, sandbox_server: Any) -> None:
    url = f"{sandbox_server.url}/_sandbox/crayon/changes"
    for change in ({"type": "seat_change", "subscription_id": 1, "quantity": 3}, {"type": "warp"},
                   {"type": "price_change", "offer": "nope", "unit_price": 1},
                   {"type": "seat_change", "subscription_id": 5100001, "quantity": 0},
                   {"type": "cancel", "subscription_id": 5100001, "day": 40}):
        assert requests.post(url, json=change, timeout=10).status_code == 400, change
