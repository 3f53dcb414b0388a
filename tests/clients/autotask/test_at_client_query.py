"""Zone discovery, paging, the filter builder against the emulator, count, picklists, product helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from channelsync.clients.autotask import AutotaskClient, Filter, build_query, chunked_in
from channelsync.sandbox.control_client import SandboxControl


def test_zone_is_discovered_once_and_cached(make_client: Callable[..., AutotaskClient], calls: Any) -> None:
    first = make_client()
    first.get("Products", 1)
    first.get("Products", 2)
    make_client().get("Products", 3)  # a second client of the same user reuses the process cache
    assert len(calls("zoneInformation")) == 1
    assert first.api_url.endswith("/autotask/ATServicesRest/V1.0/")


def test_iter_query_follows_post_next_pages(client: AutotaskClient, sandbox: SandboxControl, calls: Any) -> None:
    total = client.count("Products")
    assert total == 13
    sandbox.clear_requests()
    rows = list(client.iter_query("Products", Filter.everything(), max_records=5))
    assert [r["id"] for r in rows] == list(range(1, total + 1))
    pages = calls("Products/query")
    assert [(e["method"], e["path"].rsplit("/", 1)[-1]) for e in pages] == [("POST", "query"), ("POST", "next"),
                                                                            ("POST", "next")]
    assert all(e["status"] == 200 for e in pages)


def test_include_fields_always_asks_for_id(client: AutotaskClient) -> None:
    rows = list(client.iter_products(include_fields=["name"]))
    assert rows and set(rows[0]) == {"id", "name", "userDefinedFields"}
    assert build_query(Filter.everything(), include_fields=["name"])["IncludeFields"] == ["id", "name"]


OPERATORS: list[tuple[Filter, Callable[[dict[str, Any]], bool]]] = [
    (Filter.eq("manufacturerName", "UBIQUITI"), lambda p: p["manufacturerName"] == "Ubiquiti"),
    (Filter.noteq("manufacturerName", "Ubiquiti"), lambda p: p["manufacturerName"] != "Ubiquiti"),
    (Filter.gt("unitCost", 500), lambda p: p["unitCost"] > 500),
    (Filter.gte("id", 4), lambda p: p["id"] >= 4),
    (Filter.lt("unitCost", 500), lambda p: p["unitCost"] < 500),
    (Filter.lte("id", 4), lambda p: p["id"] <= 4),
    (Filter.begins_with("name", "apc"), lambda p: p["name"].lower().startswith("apc")),
    (Filter.ends_with("manufacturerProductName", "#ABA"), lambda p: p["manufacturerProductName"].endswith("#ABA")),
    (Filter.contains("description", "lifetime"), lambda p: "lifetime" in p["description"]),
    (Filter.exist("defaultVendorID"), lambda p: p["defaultVendorID"] is not None),
    (Filter.not_exist("defaultVendorID"), lambda p: p["defaultVendorID"] is None),
    (Filter.in_("id", [2, 4, 6]), lambda p: p["id"] in (2, 4, 6)),
    (Filter.not_in("id", [2, 4, 6]), lambda p: p["id"] not in (2, 4, 6)),
    (Filter.or_(Filter.eq("id", 1), Filter.and_(Filter.gt("id", 10), Filter.lt("id", 13))),
     lambda p: p["id"] in (1, 11, 12)),
]


@pytest.mark.parametrize(("condition", "expected"), OPERATORS, ids=lambda v: getattr(v, "expression", {}).get("op"))
def test_every_filter_operator(client: AutotaskClient, condition: Filter, expected: Any) -> None:
    everything = list(client.iter_products())
    want = [p["id"] for p in everything if expected(p)]
    assert [p["id"] for p in client.iter_products(filters=condition)] == want
    assert 0 < len(want) < len(everything)
    assert client.count("Products", condition) == len(want)


def test_udf_filter(client: AutotaskClient, sandbox: SandboxControl) -> None:
    sandbox.edit_record("autotask", "Products", 5, {"userDefinedFields": [{"name": "Distributor SKU", "value": "S-5"}]})
    assert [p["id"] for p in client.iter_products(filters=Filter.eq("Distributor SKU", "S-5", udf=True))] == [5]
    with pytest.raises(ValueError, match="one UDF"):
        build_query([Filter.exist("a", udf=True), Filter.exist("b", udf=True)])


def test_values_are_data_not_query_text(client: AutotaskClient) -> None:
    sneaky = 'X" ,"op":"exist'
    assert list(client.iter_products(filters=Filter.eq("name", sneaky))) == []


def test_in_lists_are_chunked_under_the_or_limit(client: AutotaskClient, sandbox: SandboxControl,
                                                 calls: Any) -> None:
    with pytest.raises(ValueError, match="500"):
        build_query(Filter.in_("id", range(501)))
    sandbox.control("autotask", "products/bulk", json={"count": 450})
    products = list(client.iter_products(include_fields=["manufacturerProductName"]))
    mpns = [p["manufacturerProductName"] for p in products]
    sandbox.clear_requests()
    found = list(client.find_products(mpns=[*mpns, "NOT-A-REAL-MPN"]))
    assert sorted(p["id"] for p in found) == sorted(p["id"] for p in products)
    assert len(calls("Products/query")) == 3  # 464 distinct MPNs in chunks of 200
    assert [len(f.expression["value"]) for f in chunked_in("x", list(range(450)))] == [200, 200, 50]


def test_picklist_is_read_once(client: AutotaskClient, calls: Any) -> None:
    categories = client.picklist("Products", "productCategory")
    assert categories["Notebooks"] == 1
    assert client.picklist("Products", "productCategory") is categories
    assert client.picklist("Contracts", "contractType")["Recurring Service"] == 7
    assert len(calls("entityInformation/fields")) == 2


def test_product_helpers_end_to_end(client: AutotaskClient) -> None:
    vendor = next(client.iter_query("Companies", Filter.eq("companyName", "TD SYNNEX")))["id"]
    product_id = client.create_product({
        "name": "Helper Widget", "manufacturerProductName": "HW-1", "isActive": True, "isSerialized": False,
        "productCategory": client.picklist("Products", "productCategory")["Monitors"], "unitCost": 50,
    })
    assert client.update_product({"id": product_id, "unitPrice": 75}) == product_id
    vendor_row = client.create_product_vendor(product_id, {"vendorID": vendor, "vendorPartNumber": "999",
                                                           "vendorCost": 49.5, "isDefault": True, "isActive": True})
    assert [v["id"] for v in client.iter_product_vendors([product_id])] == [vendor_row]
    assert [v["id"] for v in client.iter_children("Products", product_id, "Vendors")] == [vendor_row]
    found = list(client.find_products(mpns=["hw-1"]))
    assert [p["id"] for p in found] == [product_id] and found[0]["unitPrice"] == 75
    assert client.get("Products", product_id)["defaultVendorID"] == vendor  # type: ignore[index]
    assert client.get("Products", 10**9) is None
