"""The query language: operators, groups, UDF filter, MaxRecords, IncludeFields, paging, count
(docs/vendors/autotask.md §A.5)."""

from __future__ import annotations

import json
from typing import Any

import pytest

EVERYTHING = {"op": "exist", "field": "id"}


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def products(at: Any) -> list[dict[str, Any]]:
    return at.query("Products", EVERYTHING).json()["items"]


@pytest.mark.parametrize(
    ("op", "field", "value", "expected"),
    [
        ("eq", "manufacturerName", "ubiquiti", lambda p: p["manufacturerName"].lower() == "ubiquiti"),
        ("noteq", "manufacturerName", "Ubiquiti", lambda p: p["manufacturerName"] != "Ubiquiti"),
        ("gt", "unitCost", 500, lambda p: p["unitCost"] > 500),
        ("gte", "id", 5, lambda p: p["id"] >= 5),
        ("lt", "unitCost", 500, lambda p: p["unitCost"] < 500),
        ("lte", "id", 5, lambda p: p["id"] <= 5),
        ("beginsWith", "name", "hp", lambda p: p["name"].lower().startswith("hp")),
        ("endsWith", "manufacturerProductName", "#aba",
         lambda p: p["manufacturerProductName"].lower().endswith("#aba")),
        ("contains", "description", "lifetime", lambda p: "lifetime" in p["description"].lower()),
        ("exist", "defaultVendorID", None, lambda p: p["defaultVendorID"] is not None),
        ("notExist", "defaultVendorID", None, lambda p: p["defaultVendorID"] is None),
        ("in", "id", [1, 3, 99999], lambda p: p["id"] in (1, 3)),
        ("notIn", "id", [1, 3], lambda p: p["id"] not in (1, 3)),
    ],
)
def test_every_leaf_operator(at: Any, op: str, field: str, value: Any, expected: Any) -> None:
    everything = products(at)
    leaf: dict[str, Any] = {"op": op, "field": field}
    if value is not None:
        leaf["value"] = value
    got = ids(at.query("Products", leaf))
    want = [p["id"] for p in everything if expected(p)]
    assert got == want and 0 < len(want) < len(everything)


def test_and_or_groups(at: Any) -> None:
    everything = products(at)
    group = {"op": "or", "items": [{"op": "eq", "field": "id", "value": 2},
                                   {"op": "and", "items": [{"op": "gte", "field": "id", "value": 5},
                                                           {"op": "lte", "field": "id", "value": 6}]}]}
    assert ids(at.query("Products", group)) == [2, 5, 6]
    # the top-level list is ANDed
    assert ids(at.query("Products", group, {"op": "noteq", "field": "id", "value": 5})) == [2, 6]
    assert len(everything) > 6


def test_udf_filter_and_only_one_per_query(at: Any) -> None:
    at.control.edit_record("autotask", "Products", 3, {"userDefinedFields": [{"name": "Distributor SKU",
                                                                               "value": "SYN-1"}]})
    udf = {"op": "eq", "field": "Distributor SKU", "value": "syn-1", "udf": True}
    assert ids(at.query("Products", udf)) == [3]
    two = at.query("Products", udf, {"op": "exist", "field": "Distributor SKU", "udf": True})
    assert two.status_code == 500 and "one user-defined field" in at.error_of(two)


@pytest.mark.parametrize("size", [0, 501, "ten"])
def test_max_records_out_of_range(at: Any, size: Any) -> None:
    response = at.query("Products", EVERYTHING, MaxRecords=size)
    assert response.status_code == 500
    assert at.error_of(response) == "maxCountOfRecordsToReturn must be between 1 and 500"


def test_include_fields_keeps_id_and_udfs(at: Any) -> None:
    items = at.query("Products", EVERYTHING, IncludeFields=["Name", "Distributor SKU"]).json()["items"]
    assert set(items[0]) == {"id", "name", "userDefinedFields"}


def test_missing_filter_is_a_500_and_empty_filter_matches_nothing(at: Any) -> None:
    missing = at.call("POST", "Products/query", json={"MaxRecords": 10})
    assert missing.status_code == 500 and at.error_of(missing)
    assert ids(at.call("POST", "Products/query", json={"filter": []})) == []


def test_unknown_field_is_a_500_naming_the_entity(at: Any) -> None:
    response = at.query("Products", {"op": "eq", "field": "manufacturerProductNumber", "value": "x"})
    assert response.status_code == 500
    assert at.error_of(response) == "Unable to find manufacturerProductNumber in the Product Entity"


def test_unknown_operator_is_ignored(at: Any) -> None:
    assert ids(at.query("Products", {"op": "ne", "field": "id", "value": 1})) == [p["id"] for p in products(at)]


def test_more_than_500_or_conditions(at: Any) -> None:
    response = at.query("Products", {"op": "in", "field": "id", "value": list(range(501))})
    assert response.status_code == 500
    assert at.error_of(response) == "Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions."
    assert at.query("Products", {"op": "in", "field": "id", "value": list(range(500))}).status_code == 200


def test_post_paging_next_page_must_be_posted_with_the_same_body(at: Any) -> None:
    body = {"filter": [EVERYTHING], "MaxRecords": 4}
    first = at.ok("POST", "Products/query", json=body)
    assert first["pageDetails"]["count"] == 4 and first["pageDetails"]["prevPageUrl"] is None
    next_url = first["pageDetails"]["nextPageUrl"]
    assert "/Products/query/next?paging=" in next_url
    refused = at.call("GET", next_url)
    assert refused.status_code == 405 and "GET" in refused.json()["Message"]
    other_body = at.call("POST", next_url, json={"filter": [EVERYTHING], "MaxRecords": 3})
    assert other_body.status_code == 500
    seen = [i["id"] for i in first["items"]]
    page = first
    while page["pageDetails"]["nextPageUrl"]:
        page = at.ok("POST", page["pageDetails"]["nextPageUrl"], json=body)
        seen += [i["id"] for i in page["items"]]
    assert seen == sorted(seen) == [p["id"] for p in products(at)]
    back = at.ok("POST", page["pageDetails"]["prevPageUrl"], json=body)
    assert [i["id"] for i in back["items"]] == seen[-len(page["items"]) - 4: -len(page["items"])]


def test_get_query_and_next_pages_with_get(at: Any) -> None:
    search = json.dumps({"filter": [EVERYTHING], "MaxRecords": 5})
    first = at.ok("GET", "Products/query", params={"search": search})
    second = at.ok("GET", first["pageDetails"]["nextPageUrl"])
    assert [i["id"] for i in second["items"]] == [6, 7, 8, 9, 10]
    assert at.call("POST", first["pageDetails"]["nextPageUrl"], json=json.loads(search)).status_code == 405


def test_query_count_get_and_post(at: Any) -> None:
    total = len(products(at))
    assert at.ok("POST", "Products/query/count", json={"filter": [EVERYTHING]}) == {"queryCount": total}
    search = json.dumps({"filter": [{"op": "lte", "field": "id", "value": 3}]})
    assert at.ok("GET", "Products/query/count", params={"search": search}) == {"queryCount": 3}
