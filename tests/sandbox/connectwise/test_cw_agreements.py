"""Agreements in the ConnectWise emulator: the date rules of additions, one-time and credit additions, and
the control endpoint that seeds a company's agreement with additions."""

from __future__ import annotations

from typing import Any

import requests

from channelsync.sandbox.control_client import SandboxControl


def seed(sandbox: SandboxControl, **body: Any) -> dict[str, Any]:
    company = next(c for c in sandbox.records("connectwise", "companies") if c.get("accountNumber"))
    result: dict[str, Any] = sandbox.control("connectwise", "agreements", json={"company": company["accountNumber"],
                                                                                **body})
    return result


def test_additions_bill_inside_their_agreement(api: str, cw: requests.Session, sandbox: SandboxControl) -> None:
    agreement = seed(sandbox, startDate="2026-01-01", endDate="2026-12-31")["agreement"]
    url = f"{api}/finance/agreements/{agreement['id']}/additions"
    early = cw.post(url, json={"product": {"identifier": "MS-USER"}, "effectiveDate": "2025-12-31T00:00:00Z"},
                    timeout=5)
    assert early.status_code == 400 and early.json()["code"] == "InvalidObject"
    assert [(e["code"], e["field"]) for e in early.json()["errors"]] == [("InvalidValue", "effectiveDate")]
    late = cw.post(url, json={"product": {"identifier": "MS-USER"}, "effectiveDate": "2027-01-01T00:00:00Z"},
                   timeout=5)
    assert late.status_code == 400 and "end date 2026-12-31" in late.json()["errors"][0]["message"]
    made = cw.post(url, json={"product": {"identifier": "MS-USER"}, "effectiveDate": "2026-03-01T00:00:00Z",
                              "quantity": 2, "unitPrice": -20.0, "unitCost": -15.0}, timeout=5)
    assert made.status_code == 201 and made.json()["extPrice"] == -40.0  # a credit: a negative price
    backwards = cw.patch(f"{url}/{made.json()['id']}", json=[
        {"op": "replace", "path": "cancelledDate", "value": "2026-02-28T00:00:00Z"}], timeout=5)
    assert backwards.status_code == 400 and backwards.json()["errors"][0]["field"] == "cancelledDate"
    one_time = cw.patch(f"{url}/{made.json()['id']}", json=[
        {"op": "replace", "path": "cancelledDate", "value": "2026-03-31T00:00:00Z"}], timeout=5)
    assert one_time.status_code == 200 and one_time.json()["cancelledDate"] == "2026-03-31T00:00:00Z"


def test_open_ended_agreements_take_additions_any_time_after_their_start(api: str, cw: requests.Session,
                                                                         sandbox: SandboxControl) -> None:
    agreement = seed(sandbox, startDate="2026-01-01")["agreement"]
    assert agreement["noEndingDateFlag"] is True and "endDate" not in agreement
    made = cw.post(f"{api}/finance/agreements/{agreement['id']}/additions", json={
        "product": {"identifier": "MS-USER"}, "effectiveDate": "2031-05-01T00:00:00Z"}, timeout=5)
    assert made.status_code == 201


def test_control_seeds_an_agreement_with_additions(api: str, cw: requests.Session, sandbox: SandboxControl) -> None:
    seeded = seed(sandbox, name="Seeded M365", type="Microsoft 365", startDate="2026-01-01", prorateFlag=False,
                  additions=[{"product": "MS-USER", "quantity": 7, "unitPrice": 20, "unitCost": 15,
                              "effectiveDate": "2026-01-01"},
                             {"product": "MS-DEVICE", "quantity": 3, "effectiveDate": "2026-02-01",
                              "cancelledDate": "2026-02-28"}])
    agreement = cw.get(f"{api}/finance/agreements/{seeded['agreement']['id']}", timeout=5).json()
    assert (agreement["name"], agreement["type"]["name"], agreement["agreementStatus"]) == \
        ("Seeded M365", "Microsoft 365", "Active")
    assert agreement["prorateFlag"] is False and agreement["contact"]["id"]
    additions = cw.get(f"{api}/finance/agreements/{agreement['id']}/additions", timeout=5).json()
    assert [(a["product"]["identifier"], a["quantity"], a.get("cancelledDate")) for a in additions] == \
        [("MS-USER", 7, None), ("MS-DEVICE", 3, "2026-02-28T00:00:00Z")]
    assert additions[1]["unitPrice"] == 45.0  # defaults from the catalog item
    cancelled = seed(sandbox, startDate="2025-01-01", cancelledFlag=True)["agreement"]
    assert cancelled["agreementStatus"] == "Cancelled" and cancelled["dateCancelled"]
    made = sandbox.control("connectwise", "agreements", json={
        "company": "NEWCO", "create_company": True, "companyName": "New Co", "startDate": "2026-01-01"})
    company = cw.get(f"{api}/company/companies/{made['agreement']['company']['id']}", timeout=5).json()
    assert (company["identifier"], company["name"]) == ("NEWCO", "New Co")
    unknown = requests.post(f"{sandbox.base_url}/_sandbox/connectwise/agreements", json={"company": "nobody"},
                            timeout=5)
    assert unknown.status_code == 404 and unknown.json()["code"] == "NotFound"
