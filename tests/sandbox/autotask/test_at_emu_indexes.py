"""The emulator's indexes (``indexes.py``) answer exactly as a scan: a query whose first filter is a look-up
on a reference field goes through an index; the same query behind an ``exist id`` filter scans. Both must
give the same rows, pages, counts and errors, before and after writes and direct edits."""

from __future__ import annotations

from typing import Any

import pytest

from channelsync.sandbox.autotask.indexes import IndexedTable, where

EVERYTHING = {"op": "exist", "field": "id"}


def both(at: Any, entity: str, first: dict[str, Any], *rest: dict[str, Any], **extra: Any) -> list[int]:
    """Every page of the query through the index and through a scan: the same ids page by page."""
    indexed, scanned = [first, *rest], [EVERYTHING, first, *rest]
    found: list[int] = []
    responses = [at.query(entity, *indexed, **extra), at.query(entity, *scanned, **extra)]
    while True:
        bodies = [r.json() for r in responses]
        assert all(r.status_code == 200 for r in responses), bodies
        pages = [[item["id"] for item in body["items"]] for body in bodies]
        assert pages[0] == pages[1]
        found += pages[0]
        following = [body["pageDetails"]["nextPageUrl"] for body in bodies]
        assert (following[0] is None) == (following[1] is None)
        if following[0] is None:
            break
        responses = [at.call("POST", following[0], json={"filter": indexed, **extra}),
                     at.call("POST", following[1], json={"filter": scanned, **extra})]
    counts = [at.call("POST", f"{entity}/query/count", json={"filter": f}).json()["queryCount"]
              for f in (indexed, scanned)]
    assert counts == [len(found)] * 2
    return found


def seeded_contract(sandbox: Any, at: Any) -> dict[str, Any]:
    company = at.query("Companies", {"op": "eq", "field": "companyType", "value": 1}).json()["items"][0]
    return dict(sandbox.control("autotask", "contracts", json={
        "company": company["id"], "startDate": "2026-01-01", "endDate": "2026-12-31",
        "services": [{"service": "Managed Workstation", "units": 4, "effectiveDate": "2026-03-10"}]}))


def test_lookups_answer_as_scans(at: Any, sandbox: Any) -> None:
    seeded = seeded_contract(sandbox, at)
    contract, service = seeded["contract"]["id"], seeded["contractServices"][0]
    units = both(at, "ContractServiceUnits", {"op": "eq", "field": "contractID", "value": contract})
    assert len(units) == 13  # 12 months, March split at the adjustment
    # the value as a string, case-insensitive field names, other filters after it, small pages
    assert both(at, "ContractServiceUnits", {"op": "eq", "field": "CONTRACTID", "value": str(contract)},
                {"op": "gt", "field": "units", "value": 0}, MaxRecords=3) == units[3:]
    assert both(at, "ContractServiceUnits", {"op": "in", "field": "contractServiceID",
                                             "value": [service["id"], 999999, None]}) == units
    assert both(at, "ContractServiceUnits", {"op": "eq", "field": "contractID", "value": 999999}) == []
    assert len(both(at, "Products", {"op": "in", "field": "id", "value": [1, "3", 5]})) == 3
    # an adjustment splits a period and adds a row: the index follows inserts
    at.ok("POST", "ContractServiceAdjustments", json={"contractID": contract, "serviceID": service["serviceID"],
                                                      "effectiveDate": "2026-06-15", "unitChange": 2})
    assert len(both(at, "ContractServiceUnits", {"op": "eq", "field": "contractID", "value": contract})) == 14


def test_direct_edits_move_rows_between_lookups(at: Any, sandbox: Any) -> None:
    first, second = seeded_contract(sandbox, at), seeded_contract(sandbox, at)
    row = at.query("ContractServiceUnits", {"op": "eq", "field": "contractID",
                                            "value": first["contract"]["id"]}).json()["items"][0]
    sandbox.edit_record("autotask", "ContractServiceUnits", row["id"], {"contractID": second["contract"]["id"]})
    moved = both(at, "ContractServiceUnits", {"op": "eq", "field": "contractID", "value": second["contract"]["id"]})
    assert row["id"] in moved and len(moved) == 14
    # a value the query language cannot compare: the index steps aside, so the scan's error is answered
    sandbox.edit_record("autotask", "ContractServiceUnits", row["id"], {"contractID": "not a number"})
    leaf = {"op": "eq", "field": "contractID", "value": second["contract"]["id"]}
    answers = [at.query("ContractServiceUnits", leaf), at.query("ContractServiceUnits", EVERYTHING, leaf)]
    assert [r.status_code for r in answers] == [500, 500]
    assert at.error_of(answers[0]) == at.error_of(answers[1])
    sandbox.edit_record("autotask", "ContractServiceUnits", row["id"], {"contractID": first["contract"]["id"]})
    assert len(both(at, "ContractServiceUnits", leaf)) == 13


@pytest.mark.parametrize("value", [5, 5.0, True, "5"])
def test_where_finds_what_a_scan_finds_in_table_order(value: Any) -> None:
    table = IndexedTable("T")
    for n, ref in enumerate([5, 7, 5.0, "5", True, 1, 5, None]):
        table.insert({"id": 10 - n, "refID": ref})
    table.delete(4)
    table.insert({"id": 4, "refID": 5})  # deleted and inserted again: now last, as in the dict of rows
    table.update(9, {"refID": 5})
    expected = [row for row in table.rows() if row.get("refID") == value]
    assert where(table, "refID", value) == expected
    assert [r["id"] for r in where(table, "refID", 5)] == [10, 9, 8, 4]
