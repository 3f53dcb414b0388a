"""Recurring contracts in the Autotask emulator: ContractCharges (written through Contracts/{id}/Charges),
the adjustment date rule, and the control endpoint that seeds a contract with services and units."""

from __future__ import annotations

from typing import Any

import requests


def recurring_contract(at: Any) -> dict[str, Any]:
    return at.query("Contracts", {"op": "eq", "field": "contractType", "value": 7}).json()["items"][0]


def charge(**overrides: Any) -> dict[str, Any]:
    return {"name": "Setup", "datePurchased": "2026-02-10", "unitQuantity": 2, "unitPrice": 50, "unitCost": 30,
            "chargeType": 1, **overrides}


def test_charges_are_written_through_the_contract_only(at: Any) -> None:
    contract = recurring_contract(at)
    assert at.call("POST", "ContractCharges", json={**charge(), "contractID": contract["id"]}).status_code == 405
    missing = at.call("POST", f"Contracts/{contract['id']}/Charges", json={**charge(), "chargeType": None})
    assert missing.status_code == 500 and "chargeType" in at.error_of(missing)
    too_long = at.call("POST", f"Contracts/{contract['id']}/Charges", json=charge(name="x" * 101))
    assert too_long.status_code == 500 and "100" in at.error_of(too_long)
    unknown = at.call("POST", "Contracts/999999/Charges", json=charge())
    assert unknown.status_code == 500 and "contractID" in at.error_of(unknown)
    charge_id = at.ok("POST", f"Contracts/{contract['id']}/Charges", json=charge(notes="cs-0123456789abcdef"))["itemId"]
    item = at.ok("GET", f"ContractCharges/{charge_id}")["item"]
    assert item == {**item, "contractID": contract["id"], "billableAmount": 100.0, "extendedCost": 60.0,
                    "isBilled": False, "isBillableToCompany": True, "datePurchased": "2026-02-10T00:00:00Z",
                    "notes": "cs-0123456789abcdef"}
    assert item["createDate"] and item["status"] is None
    found = at.query("ContractCharges", {"op": "eq", "field": "contractID", "value": contract["id"]},
                     {"op": "contains", "field": "notes", "value": "cs-0123"}).json()["items"]
    assert [c["id"] for c in found] == [charge_id]
    listed = at.ok("GET", f"Contracts/{contract['id']}/Charges")["items"]
    assert charge_id in {c["id"] for c in listed}


def test_a_charge_changes_until_it_is_billed(at: Any) -> None:
    contract = recurring_contract(at)
    charge_id = at.ok("POST", f"Contracts/{contract['id']}/Charges",
                      json=charge(isBillableToCompany=False))["itemId"]
    assert at.ok("GET", f"ContractCharges/{charge_id}")["item"]["billableAmount"] == 0.0
    at.ok("PATCH", f"Contracts/{contract['id']}/Charges", json={"id": charge_id, "isBillableToCompany": True,
                                                                "unitQuantity": 3})
    assert at.ok("GET", f"ContractCharges/{charge_id}")["item"]["billableAmount"] == 150.0
    assert at.ok("DELETE", f"Contracts/{contract['id']}/Charges/{charge_id}") == {"itemId": charge_id}
    billed = next(c for c in at.ok("GET", f"Contracts/{contract['id']}/Charges")["items"] if c["isBilled"])
    refused = at.call("PATCH", f"Contracts/{contract['id']}/Charges", json={"id": billed["id"], "unitPrice": 1})
    assert refused.status_code == 500 and "billed" in at.error_of(refused)
    gone = at.call("DELETE", f"Contracts/{contract['id']}/Charges/{billed['id']}")
    assert gone.status_code == 500 and "billed" in at.error_of(gone)


def test_charge_type_is_a_picklist(at: Any) -> None:
    fields = {f["name"]: f for f in at.ok("GET", "ContractCharges/entityInformation/fields")["fields"]}
    assert fields["chargeType"]["isPickList"] and fields["chargeType"]["isRequired"]
    assert {v["label"]: v["value"] for v in fields["chargeType"]["picklistValues"]} == \
        {"Operational": "1", "Capitalized": "2"}
    assert fields["name"]["length"] == 100 and fields["isBilled"]["isReadOnly"]
    info = at.ok("GET", "ContractCharges/entityInformation")["info"]
    assert info["canCreate"] and info["canQuery"] and info["canDelete"]


def test_adjustments_before_the_contract_start_are_refused_too(at: Any) -> None:
    contract = recurring_contract(at)
    response = at.call("POST", "ContractServiceAdjustments", json={
        "contractID": contract["id"], "serviceID": 1, "effectiveDate": "2024-12-31", "unitChange": 1})
    assert response.status_code == 500 and "effectiveDate" in at.error_of(response)


def test_control_seeds_a_contract_with_services_and_units(at: Any, sandbox: Any) -> None:
    company = at.query("Companies", {"op": "eq", "field": "companyType", "value": 1}).json()["items"][0]
    seeded = sandbox.control("autotask", "contracts", json={
        "company": company["companyName"], "startDate": "2026-01-01", "endDate": "2026-06-30",
        "services": [{"service": "Managed Workstation", "units": 4, "effectiveDate": "2026-02-15"},
                     {"service": "PC_SEEDED", "create": True, "units": 2, "unitPrice": 9.5, "unitCost": 7}]})
    contract = at.ok("GET", f"Contracts/{seeded['contract']['id']}")["item"]
    assert (contract["companyID"], contract["contractType"], contract["status"]) == (company["id"], 7, 1)
    units = at.ok("GET", f"Contracts/{contract['id']}/ServiceUnits")["items"]
    by_service: dict[int, list[tuple[str, int]]] = {}
    for row in sorted(units, key=lambda r: r["startDate"]):
        by_service.setdefault(row["serviceID"], []).append((row["startDate"][:10], row["units"]))
    managed, seeded_service = (s["serviceID"] for s in seeded["contractServices"])
    assert by_service[managed][:3] == [("2026-01-01", 0), ("2026-02-01", 0), ("2026-02-15", 4)]
    assert len(by_service[seeded_service]) == 6 and {u for _, u in by_service[seeded_service]} == {2}
    service = at.ok("GET", f"Services/{seeded_service}")["item"]
    assert (service["name"], service["unitPrice"]) == ("PC_SEEDED", 9.5)
    made = sandbox.control("autotask", "contracts", json={"company": "New Customer Inc", "create_company": True})
    assert at.ok("GET", f"Companies/{made['contract']['companyID']}")["item"]["companyName"] == "New Customer Inc"
    unknown = requests.post(f"{sandbox.base_url}/_sandbox/autotask/contracts", json={"company": "Nobody"}, timeout=5)
    assert unknown.status_code == 400 and "Nobody" in unknown.json()["error"]


def test_a_renewed_contract_gets_units_for_its_new_periods(at: Any, sandbox: Any) -> None:
    company = at.query("Companies", {"op": "eq", "field": "companyType", "value": 1}).json()["items"][0]
    seeded = sandbox.control("autotask", "contracts", json={
        "company": company["id"], "startDate": "2026-01-01", "endDate": "2026-03-31",
        "services": [{"service": "Managed Workstation", "units": 4}]})
    contract_id, service_id = seeded["contract"]["id"], seeded["contractServices"][0]["serviceID"]
    at.ok("PATCH", "Contracts", json={"id": contract_id, "endDate": "2026-05-31"})
    units = sorted(at.ok("GET", f"Contracts/{contract_id}/ServiceUnits")["items"], key=lambda r: r["startDate"])
    assert [(u["startDate"][:10], u["endDate"][:10], u["units"]) for u in units[-2:]] == \
        [("2026-04-01", "2026-04-30", 4), ("2026-05-01", "2026-05-31", 4)]
    at.ok("POST", "ContractServiceAdjustments", json={"contractID": contract_id, "serviceID": service_id,
                                                      "effectiveDate": "2026-05-10", "unitChange": 2})
    units = at.ok("GET", f"Contracts/{contract_id}/ServiceUnits")["items"]
    assert {u["startDate"][:10]: u["units"] for u in units}["2026-05-10"] == 6
