"""Control endpoint ``POST /_sandbox/connectwise/agreements``: give a company an agreement with additions.

What a person sets up in Finance > Agreements, in one call, through the same validation and server
rules as the API's POSTs (so references, ``agreementStatus``, ``extPrice`` and the date rules are the
emulator's own). Body::

    {"company": 12 | "ContosoLtd" | "C0007",     # id, identifier or accountNumber
     "create_company": false,                     # true: a new company with that identifier (and a contact)
     "companyName": "Contoso Ltd",                # with create_company
     "name": "...", "type": "Microsoft 365",      # agreement type by name
     "startDate": "2025-01-01", "endDate": null,  # no endDate: noEndingDateFlag
     "prorateFlag": true, "cancelledFlag": false, "oneTimeFlag": false,
     "additions": [{"product": 5 | "MS-USER", "quantity": 10, "unitPrice": 20.0, "unitCost": 15.0,
                    "effectiveDate": "2025-01-01", "cancelledDate": null, "billCustomer": "Billable",
                    "invoiceDescription": "..."}]}

Answer: ``{"agreement": …, "additions": […]}``; a refused record answers the API's 400 body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channelsync.sandbox.connectwise import models
from channelsync.sandbox.connectwise.errors import CwError, bad_request

if TYPE_CHECKING:
    from channelsync.sandbox.connectwise.handlers import ResourceHandlers

ADDITION_FIELDS = ("quantity", "unitPrice", "unitCost", "billCustomer", "invoiceDescription", "taxableFlag",
                   "lessIncluded", "serialNumber")


def seed_agreement(emu: ResourceHandlers, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("POST /_sandbox/connectwise/agreements takes a JSON object")
    company = _company(emu, body)
    contact = _contact(emu, company)
    end = _stamp(body.get("endDate"))
    record: dict[str, Any] = {
        "name": body.get("name") or f"{body.get('type') or 'Microsoft 365'} - {company['name']}"[:100],
        "type": {"name": body.get("type") or "Microsoft 365"}, "company": {"id": company["id"]},
        "contact": {"id": contact["id"]}, "startDate": _stamp(body.get("startDate") or "2025-01-01"),
        "noEndingDateFlag": end is None, "prorateFlag": bool(body.get("prorateFlag", True)),
        "cancelledFlag": bool(body.get("cancelledFlag", False)), "oneTimeFlag": bool(body.get("oneTimeFlag", False)),
        "billingCycle": {"id": 2, "name": "Monthly"}, "billAmount": 0.0,
    }
    if end is not None:
        record["endDate"] = end
    if record["cancelledFlag"]:
        record["dateCancelled"] = _stamp(body.get("dateCancelled") or body.get("startDate") or "2025-01-01")
    agreement = emu.insert_record(models.AGREEMENT, record)
    additions = []
    for entry in body.get("additions") or []:
        product = entry.get("product")
        reference = {"id": int(product)} if str(product).isdigit() else {"identifier": str(product)}
        addition: dict[str, Any] = {"product": reference, **{k: entry[k] for k in ADDITION_FIELDS if k in entry}}
        for name in ("effectiveDate", "cancelledDate"):
            if entry.get(name):
                addition[name] = _stamp(entry[name])
        additions.append(emu.insert_record(models.ADDITION, addition, parent=agreement))
    return {"agreement": agreement, "additions": additions}


def _stamp(value: Any) -> str | None:
    if not value:
        return None
    text = str(value)
    return text if "T" in text else f"{text}T00:00:00Z"


def _company(emu: ResourceHandlers, body: dict[str, Any]) -> dict[str, Any]:
    key = body.get("company")
    if body.get("create_company"):
        company = emu.insert_record(models.COMPANY, {
            "identifier": str(key), "name": str(body.get("companyName") or key)[:50], "addressLine1": "1 Main St",
            "status": {"id": 1, "name": "Active"}, "types": [{"id": 1, "name": "Customer"}],
        })
        contact = emu.insert_record(models.CONTACT, {"firstName": "Office", "lastName": "Manager",
                                                     "company": {"id": company["id"]}})
        company["defaultContact"] = models.reference("contact", contact, models.CONTACT, emu.context.base_url,
                                                     "defaultContact")
        return company
    table = emu.store.table("companies")
    if str(key).isdigit():
        found = table.get(int(str(key)))
    else:
        wanted = str(key or "").casefold()
        found = next((row for row in table.rows()
                      if wanted in (str(row.get("identifier") or "").casefold(),
                                    str(row.get("accountNumber") or "").casefold())), None)
    if found is None:
        raise CwError(404, "NotFound", f"Company {key} not found (give an id, identifier or accountNumber)")
    return found


def _contact(emu: ResourceHandlers, company: dict[str, Any]) -> dict[str, Any]:
    default = company.get("defaultContact")
    if default:
        found = emu.store.table("contacts").get(int(default["id"]))
        if found is not None:
            return found
    contact = next((row for row in emu.store.table("contacts").rows()
                    if (row.get("company") or {}).get("id") == company["id"]), None)
    if contact is None:
        contact = emu.insert_record(models.CONTACT, {"firstName": "Office", "lastName": "Manager",
                                                     "company": {"id": company["id"]}})
    return contact
