"""Control endpoint ``POST /_sandbox/autotask/contracts``: give a company a contract with services and units.

A person sets up recurring contracts in the Autotask UI; tests need the same in one call, with the
ContractServiceUnits Autotask keeps for them (docs/vendors/autotask.md §A.7), so they are built with the
emulator's own unit bookkeeping (``records.add_contract_service``), not inserted as raw rows. Body::

    {"company": 5 | "Contoso Ltd" | "C0007",      # id, companyName or companyNumber
     "create_company": false,                      # true: a new Customer company named ``company``
     "contractName": "...", "contractType": 7,     # type value or label; default Recurring Service
     "status": 1, "startDate": "2025-01-01", "endDate": "2027-12-31",
     "services": [{"service": 2 | "PC_…", "units": 5, "effectiveDate": "2025-01-01",
                   "unitPrice": 12.5, "unitCost": 9.0, "create": false}]}

``services[].create``: make the Service when no service has that name (under the first active Recurring
Contract Service billing code). Answer: ``{"contract": …, "contractServices": […], "units": […]}``.
"""

from __future__ import annotations

from typing import Any

from channelsync.sandbox.autotask import records
from channelsync.sandbox.autotask.metadata import COMPANY_TYPE, CONTRACT_TYPE, PERIOD_TYPE, USE_TYPE
from channelsync.sandbox.autotask.rules import EntityError, Writer
from channelsync.sandbox.autotask.seed import OWNER_RESOURCE_ID


def seed_contract(writer: Writer, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValueError("POST /_sandbox/autotask/contracts takes a JSON object")
    store = writer.store
    company = _company(writer, body)
    contract_type = body.get("contractType", CONTRACT_TYPE["Recurring Service"])
    if isinstance(contract_type, str):
        contract_type = CONTRACT_TYPE[contract_type]
    start = str(body.get("startDate") or "2025-01-01")
    end = str(body.get("endDate") or "2027-12-31")
    contract_id = writer.create("Contracts", {
        "companyID": company["id"], "contractName": body.get("contractName") or f"{company['companyName']} - Recurring",
        "contractType": int(contract_type), "status": int(body.get("status", 1)), "startDate": start,
        "endDate": end, "timeReportingRequiresStartAndStopTimes": 1,
    })
    contract = store.table("Contracts").get(contract_id)
    assert contract is not None
    created = []
    for entry in body.get("services") or []:
        service = _service(writer, entry)
        effective = records.to_date(entry.get("effectiveDate") or start)
        created.append(records.add_contract_service(
            store, contract, service, units=int(entry.get("units") or 0), effective=effective,
            unit_price=entry.get("unitPrice"), unit_cost=entry.get("unitCost"),
        ))
    ids = {row["id"] for row in created}
    units = sorted((row for row in store.table("ContractServiceUnits").rows() if row["contractServiceID"] in ids),
                   key=lambda row: row["id"])
    return {"contract": contract, "contractServices": created, "units": units}


def _company(writer: Writer, body: dict[str, Any]) -> dict[str, Any]:
    key = body.get("company")
    table = writer.store.table("Companies")
    if body.get("create_company"):
        company_id = writer.create("Companies", {
            "companyName": str(key), "companyType": COMPANY_TYPE["Customer"], "phone": "+1-555-010-0199",
            "ownerResourceID": OWNER_RESOURCE_ID, "isActive": True,
        })
        found = table.get(company_id)
    elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        found = table.get(int(key))
    else:
        wanted = str(key or "").casefold()
        found = next((row for row in table.rows()
                      if wanted in (str(row.get("companyName") or "").casefold(),
                                    str(row.get("companyNumber") or "").casefold())), None)
    if found is None:
        raise EntityError(f"No company {key!r} (give an id, companyName or companyNumber, or create_company)")
    return found


def _service(writer: Writer, entry: dict[str, Any]) -> dict[str, Any]:
    key = entry.get("service")
    table = writer.store.table("Services")
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        found = table.get(int(key))
    else:
        found = next((row for row in table.rows() if str(row.get("name") or "").casefold() == str(key).casefold()),
                     None)
        if found is None and entry.get("create"):
            code = next(row for row in writer.store.table("BillingCodes").rows()
                        if row.get("isActive") and row.get("useType") == USE_TYPE["Recurring Contract Service"])
            service_id = writer.create("Services", {
                "name": str(key), "unitPrice": entry.get("unitPrice") or 0, "unitCost": entry.get("unitCost"),
                "periodType": PERIOD_TYPE["Monthly"], "billingCodeID": code["id"],
                "creatorResourceID": OWNER_RESOURCE_ID,
            })
            found = table.get(service_id)
    if found is None:
        raise EntityError(f"No service {key!r} (give an id or a name, or create: true)")
    return found
