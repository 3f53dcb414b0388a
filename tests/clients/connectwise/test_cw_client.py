"""ConnectWiseClient against the sandbox: discovery, paging with call counts, conditions safety, CRUD helpers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from channelsync.clients.connectwise import ConnectWiseApiError, ConnectWiseClient, batch_for_in
from channelsync.clients.connectwise import conditions as c
from channelsync.sandbox.connectwise.conditions import Comparison, parse
from channelsync.sandbox.control_client import SandboxControl


def api_calls(sandbox: SandboxControl) -> list[dict]:
    return [r for r in sandbox.requests("connectwise") if "/apis/3.0/" in r["path"]]


def top_up(sandbox: SandboxControl, count: int) -> int:
    return int(sandbox.control("connectwise", "catalog/bulk", json={"count": count})["count"])


def test_codebase_is_discovered_once_and_cached(client: ConnectWiseClient, sandbox: SandboxControl) -> None:
    assert client.codebase() == "v4_6_release/"
    client.ping()
    client.count("procurement/catalog")
    paths = [r["path"] for r in sandbox.requests("connectwise")]
    assert paths.count("/login/companyinfo/channelsync") == 1 and len(paths) == 3


def test_iter_reads_every_page_with_the_fewest_calls(make_client: Callable[..., ConnectWiseClient],
                                                     sandbox: SandboxControl) -> None:
    total = top_up(sandbox, 450)
    client = make_client(page_size=100, codebase="v4_6_release/")
    sandbox.clear_requests()
    items = list(client.iter_catalog_items())
    assert len(items) == total and len({i["id"] for i in items}) == total
    assert len(api_calls(sandbox)) == 5  # 4 full pages + the short fifth: stop without an extra call
    assert client.calls == 5


def test_forward_only_exact_multiple_stops_on_empty_link(make_client: Callable[..., ConnectWiseClient],
                                                         sandbox: SandboxControl) -> None:
    top_up(sandbox, 400)
    client = make_client(page_size=100, codebase="v4_6_release/")
    sandbox.clear_requests()
    assert len(list(client.iter("procurement/catalog"))) == 400
    calls = api_calls(sandbox)
    assert len(calls) == 4 and "pageId=" in calls[-1]["query"]


def test_navigable_paging_with_order_by(make_client: Callable[..., ConnectWiseClient],
                                        sandbox: SandboxControl) -> None:
    top_up(sandbox, 250)
    client = make_client(page_size=100, codebase="v4_6_release/")
    sandbox.clear_requests()
    items = list(client.iter("procurement/catalog", order_by="price desc", fields="id,price"))
    assert len(items) == 250 and [i["price"] for i in items] == sorted((i["price"] for i in items), reverse=True)
    queries = [r["query"] for r in api_calls(sandbox)]
    assert len(queries) == 3 and queries[-1].endswith("page=3")


def test_count_and_get(client: ConnectWiseClient) -> None:
    assert client.count("procurement/catalog", c.eq("productClass", "Service")) == 4
    assert client.get("procurement/catalog", 1, fields="id,identifier").keys() == {"id", "identifier"}


@pytest.mark.parametrize("sku", ['AB"C', "AB\\", 'X" or id > 0 or identifier = "', "50%_[x]*", "it's", "a\\\"b"])
def test_conditions_builder_quotes_safely(sku: str) -> None:
    assert parse(c.eq("identifier", sku)) == Comparison("identifier", "=", sku)
    tree = parse(c.in_("identifier", [sku, "plain"]))
    assert tree == Comparison("identifier", "in", (sku, "plain"))


def test_builder_renders_every_type() -> None:
    from datetime import UTC, date, datetime
    from decimal import Decimal

    text = c.and_(c.eq("a", True), c.ne("b", None), c.lt("d", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
                  c.ge("e", date(2024, 1, 1)), c.gt("f", Decimal("1.50")), c.le("g", 2.5),
                  c.or_(c.like("h", "x%"), c.contains("i", "y", negate=True)), c.not_(c.not_in("j", [1, 2])))
    assert text == ('(a = True) and (b != null) and (d < [2024-01-02T03:04:05Z]) and (e >= [2024-01-01T00:00:00Z])'
                    ' and (f > 1.50) and (g <= 2.5) and ((h like "x%") or (i not contains "y"))'
                    ' and (not (j not in (1, 2)))')
    parse(text)
    with pytest.raises(ValueError):
        c.eq("identifier) or (id", 1)


def test_find_catalog_items_with_hostile_skus(client: ConnectWiseClient, sandbox: SandboxControl) -> None:
    subcategory = {"id": 1}
    hostile = ['Q"UOTE', "BACK\\SLASH", 'X" or id > 0 or identifier = "']
    for sku in hostile:
        client.create_catalog_item({"identifier": sku, "description": "hostile", "customerDescription": "h",
                                    "subcategory": subcategory, "type": {"id": 1}})
    existing = sandbox.records("connectwise", "catalogItems")[0]["identifier"]
    found = client.find_catalog_items([*hostile, existing, "does-not-exist", existing.lower()])
    assert sorted(i["identifier"] for i in found) == sorted([*hostile, existing])


def test_find_catalog_items_batches_long_lists(client: ConnectWiseClient, sandbox: SandboxControl) -> None:
    identifiers = [f"MISSING-SKU-{n:05d}" for n in range(300)]
    batches = list(batch_for_in(identifiers))
    assert len(batches) > 1 and sum(len(b) for b in batches) == 300
    sandbox.clear_requests()
    assert client.find_catalog_items(identifiers) == []
    calls = api_calls(sandbox)
    assert len(calls) == len(batches) and max(len(r["query"]) for r in calls) < 2000


def test_catalog_helpers_round_trip(client: ConnectWiseClient) -> None:
    categories = {x["name"] for x in client.categories()}
    assert {"Hardware", "Cloud Services"} <= categories
    assert any(s["name"] == "Notebooks" for s in client.subcategories())
    assert {t["name"] for t in client.types()} >= {"Hardware", "Service"}
    assert "Netgear" not in {m["name"] for m in client.manufacturers()}
    netgear = client.create_manufacturer("Netgear")
    item = client.create_catalog_item({
        "identifier": "GS308-100NAS", "description": "Netgear 8-port switch", "customerDescription": "Switch",
        "subcategory": {"name": "Network Switches"}, "type": {"name": "Hardware"},
        "manufacturer": {"id": netgear["id"]}, "vendor": {"identifier": "TDSYNNEX"}, "cost": 20.0, "price": 29.0})
    patched = client.patch_catalog_item(item["id"], {"price": 31.5, "notes": None, "inactiveFlag": True})
    assert patched["price"] == 31.5 and patched["inactiveFlag"] is True
    assert (client.find_company("TDSYNNEX") or {}).get("name") == "TD SYNNEX"
    assert client.find_company('nobody" or identifier != "') is None
    client.delete("procurement/catalog", item["id"])
    with pytest.raises(ConnectWiseApiError) as caught:
        client.get("procurement/catalog", item["id"])
    assert caught.value.code == "CW_NOT_FOUND"


def test_agreement_and_po_helpers(client: ConnectWiseClient) -> None:
    agreement = next(client.iter_agreements(c.and_(c.eq("type/name", "Microsoft 365"),
                                                   c.eq("agreementStatus", "Active"))))
    addition = client.create_addition(agreement["id"], {"product": {"identifier": "MS-USER"}, "quantity": 3,
                                                        "unitPrice": 20, "unitCost": 15})
    updated = client.patch_addition(agreement["id"], addition["id"], {"quantity": 4})
    assert updated["extPrice"] == 80.0 and [a["id"] for a in client.iter_additions(agreement["id"])] == [addition["id"]]
    assert {t["name"] for t in client.agreement_types()} >= {"Microsoft 365"}
    statuses = {s["name"]: s["id"] for s in client.purchase_order_statuses()}
    po = client.create_purchase_order({"status": {"id": statuses["New"]}, "terms": {"id": 1},
                                       "vendorCompany": {"identifier": "TDSYNNEX"}})
    client.add_po_line_item(po["id"], {"product": {"id": 1}, "description": "x", "quantity": 2,
                                       "unitOfMeasure": {"id": 1}})
    assert [line["lineNumber"] for line in client.iter_po_line_items(po["id"])] == [1]
    assert any(p["id"] == po["id"] for p in client.iter_purchase_orders(c.eq("closedFlag", False)))
