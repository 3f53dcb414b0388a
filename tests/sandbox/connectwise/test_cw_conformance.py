"""Conformance: every record the emulator returns carries every field docs/vendors/connectwise.md §B.7 marks
required, reference objects have their model's keys, and /count and errors have their shapes.

The required lists are copied here from docs/vendors/connectwise.md §B.7 (its model lists, and its short
table for Category / SubCategory) rather than imported from the emulator, so the test checks the emulator against the
contract and not against itself.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from channelsync.sandbox.control_client import SandboxControl

REQUIRED: dict[str, tuple[str, ...]] = {
    "procurement/catalog": ("identifier", "description", "subcategory", "type", "customerDescription"),
    "procurement/categories": ("name",),
    "procurement/subcategories": ("name", "category"),
    "procurement/types": ("name",),
    "procurement/manufacturers": ("name",),
    "procurement/purchaseorderstatuses": ("name",),
    "procurement/purchaseorders": ("status", "terms", "vendorCompany"),
    "procurement/purchaseorders/1/lineitems": ("description", "product", "unitOfMeasure"),
    "procurement/purchaseorders/2/lineitems": ("description", "product", "unitOfMeasure"),
    "finance/agreements": ("name", "type", "company", "contact"),
    "company/companies": ("identifier", "name"),
}
# Reference models: CompanyReference {id, identifier, name}, IvItemReference {id, identifier, serializedFlag},
# the others {id, name}.
COMPANY_REFS = {"vendor", "vendorCompany", "company", "customerCompany"}
IVITEM_REFS = {"product"}
NAME_REFS = {"subcategory", "type", "category", "manufacturer", "unitOfMeasure", "status", "terms", "contact"}


def check_references(record: dict[str, Any]) -> None:
    for key, value in record.items():
        if key in COMPANY_REFS:
            assert {"id", "identifier", "name"} <= set(value), (key, value)
        elif key in IVITEM_REFS:
            assert {"id", "identifier"} <= set(value), (key, value)
        elif key in NAME_REFS and isinstance(value, dict):
            assert {"id", "name"} <= set(value), (key, value)


def check(path: str, records: list[dict[str, Any]]) -> None:
    assert records, f"{path} returned nothing to check"
    for record in records:
        assert isinstance(record.get("id"), int)
        missing = [f for f in REQUIRED[path] if record.get(f) in (None, "", {})]
        assert not missing, f"{path} record {record['id']} lacks required {missing}"
        check_references(record)


@pytest.mark.parametrize("path", sorted(REQUIRED))
def test_seeded_records_carry_required_fields(path: str, api: str, cw: requests.Session) -> None:
    check(path, cw.get(f"{api}/{path}", params={"pageSize": 1000}, timeout=5).json())


def test_records_created_through_the_api_conform(api: str, cw: requests.Session, sandbox: SandboxControl) -> None:
    created = cw.post(f"{api}/procurement/catalog", json={
        "identifier": "CONF-1", "description": "d", "customerDescription": "c", "subcategory": {"id": 2},
        "type": {"id": 1}, "vendor": {"id": 1}}, timeout=5).json()
    check("procurement/catalog", [created])
    agreement = cw.get(f"{api}/finance/agreements/1", timeout=5).json()
    check("finance/agreements", [agreement])
    addition = cw.post(f"{api}/finance/agreements/1/additions", json={"product": {"id": created["id"]}},
                       timeout=5).json()
    assert addition["product"]["identifier"] == "CONF-1" and addition["billCustomer"] == "Billable"
    check_references(addition)
    company = cw.post(f"{api}/company/companies", json={"identifier": "NewCo", "name": "New Co", "city": "Denver"},
                      timeout=5).json()
    check("company/companies", [company])
    assert cw.get(f"{api}/procurement/catalog/count", timeout=5).json().keys() == {"count"}


def test_partial_responses_keep_only_requested_fields(api: str, cw: requests.Session) -> None:
    rows = cw.get(f"{api}/procurement/catalog", params={"fields": "id,identifier"}, timeout=5).json()
    assert rows and all(set(r) == {"id", "identifier"} for r in rows)
