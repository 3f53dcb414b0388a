"""GET collections over HTTP: conditions end to end, orderBy, fields, paging, Link headers, forward-only, count."""

from __future__ import annotations

import re

import requests

from channelsync.sandbox.control_client import SandboxControl

CATALOG = "/procurement/catalog"


def catalog_count(sandbox: SandboxControl) -> int:
    return len(sandbox.records("connectwise", "catalogItems"))


def top_up(sandbox: SandboxControl, count: int = 457) -> int:
    """Small scale seeds 17 items; paging tests need several pages (457: the last page is short)."""
    return int(sandbox.control("connectwise", "catalog/bulk", json={"count": count})["count"])


def test_codebase_discovery_is_pascal_case_and_unauthenticated(api: str) -> None:
    site = api.split("/v4_6_release")[0]
    body = requests.get(f"{site}/login/companyinfo/channelsync", timeout=5).json()
    assert body["Codebase"] == "v4_6_release/" and body["IsCloud"] == "True" and body["CompanyID"] == "channelsync"


def test_conditions_filter_end_to_end(api: str, cw: requests.Session, sandbox: SandboxControl) -> None:
    rows = sandbox.records("connectwise", "catalogItems")
    hp = [r for r in rows if (r.get("manufacturer") or {}).get("name") == "HP Inc." and r["price"] > 500]
    got = cw.get(api + CATALOG, params={"conditions": 'manufacturer/name = "HP Inc." and price > 500',
                                        "pageSize": "1000"}, timeout=5).json()
    assert sorted(r["id"] for r in got) == sorted(r["id"] for r in hp) and got
    sample = rows[3]["identifier"]
    like = cw.get(api + CATALOG, params={"conditions": f'identifier like "{sample[:4]}%" or id in (1, 2)'},
                  timeout=5).json()
    assert {1, 2} <= {r["id"] for r in like} and sample in {r["identifier"] for r in like}
    services = cw.get(api + CATALOG, params={"conditions": 'productClass = "Service" and not (price < 100)'},
                      timeout=5).json()
    assert sorted(r["identifier"] for r in services) == ["LABOR-ONSITE", "LABOR-REMOTE"]


def test_dates_booleans_nulls_and_contains(api: str, cw: requests.Session) -> None:
    after = cw.get(api + CATALOG, params={"conditions": "dateEntered >= [2024-03-09T00:00:00Z]",
                                          "pageSize": "1000"}, timeout=5).json()
    assert after and all(r["dateEntered"] >= "2024-03-09" for r in after)
    no_vendor = cw.get(api + CATALOG, params={"conditions": "vendor = null and inactiveFlag = False",
                                              "pageSize": "1000"}, timeout=5).json()
    assert no_vendor and all("vendor" not in r for r in no_vendor)
    found = cw.get(api + "/company/companies", params={"conditions": 'name contains "law"'}, timeout=5).json()
    assert found and all("law" in r["name"].lower() for r in found)


def test_child_and_custom_field_conditions(api: str, cw: requests.Session) -> None:
    vendors = cw.get(api + "/company/companies", params={"childConditions": 'types/name = "Vendor"'}, timeout=5)
    assert [r["identifier"] for r in vendors.json()] == ["TDSYNNEX"]
    with_tenant = cw.get(api + "/company/companies", params={
        "customFieldConditions": 'caption = "Microsoft Tenant ID" and value != null', "pageSize": "1000"}, timeout=5)
    all_companies = cw.get(api + "/company/companies", params={"pageSize": "1000"}, timeout=5).json()
    expected = [c["id"] for c in all_companies if any(f.get("value") for f in c.get("customFields", []))]
    assert [r["id"] for r in with_tenant.json()] == expected and 0 < len(expected) < len(all_companies)


def test_order_by_and_fields(api: str, cw: requests.Session) -> None:
    rows = cw.get(api + CATALOG, params={"orderBy": "price desc, id asc", "fields": "id,price,manufacturer/name",
                                         "pageSize": "50"}, timeout=5).json()
    prices = [r["price"] for r in rows]
    assert prices == sorted(prices, reverse=True)
    assert set(rows[0]) <= {"id", "price", "manufacturer"} and set(rows[0].get("manufacturer", {})) <= {"name"}
    types = cw.get(api + "/company/companies/1", params={"fields": "identifier,types/name"}, timeout=5).json()
    assert types == {"identifier": "TDSYNNEX", "types": [{"name": "Vendor"}]}


def test_default_page_size_and_link_headers(api: str, cw: requests.Session, sandbox: SandboxControl) -> None:
    total = top_up(sandbox)
    first = cw.get(api + CATALOG, timeout=5)
    assert len(first.json()) == 25
    link = first.headers["Link"]
    last_page = -(-total // 25)
    assert re.search(r'[?&]page=2>; rel="next"', link) and re.search(rf'[?&]page={last_page}>; rel="last"', link)
    assert 'rel="prev"' not in link
    middle = cw.get(api + CATALOG, params={"page": "2", "pageSize": "5", "conditions": "id > 0"}, timeout=5)
    rels = dict((rel, url) for url, rel in re.findall(r'<([^>]*)>; rel="(\w+)"', middle.headers["Link"]))
    assert set(rels) == {"first", "prev", "next", "last"}
    assert all(url.endswith(("page=1", "page=3", f"page={-(-total // 5)}")) for url in rels.values())
    assert "conditions=id%20%3E%200" in rels["next"] and "pageSize=5" in rels["next"]
    capped = cw.get(api + CATALOG, params={"pageSize": "5000"}, timeout=5).json()
    assert len(capped) == min(total, 1000)


def test_paging_walks_every_record_once(api: str, cw: requests.Session, sandbox: SandboxControl) -> None:
    total = top_up(sandbox)
    sandbox.clear_requests()
    seen: list[int] = []
    url: str | None = api + CATALOG + "?pageSize=100"
    while url:
        response = cw.get(url, timeout=5)
        seen += [r["id"] for r in response.json()]
        found = re.search(r'<([^>]*)>; rel="next"', response.headers.get("Link", ""))
        url = found.group(1) if found else None
    assert sorted(seen) == seen and len(set(seen)) == total
    assert len(sandbox.requests("connectwise")) == -(-total // 100)


def test_forward_only_paging(api: str, cw: requests.Session, sandbox: SandboxControl) -> None:
    total = top_up(sandbox)
    headers = {"pagination-type": "forward-only"}
    sandbox.clear_requests()
    seen: list[int] = []
    url = api + CATALOG + "?pageSize=200&conditions=id%20%3E%200"
    while url:
        response = cw.get(url, headers=headers, timeout=5)
        assert "Link" in response.headers
        page = response.json()
        seen += [r["id"] for r in page]
        found = re.search(r'<([^>]*)>; rel="next"', response.headers["Link"])
        if found:
            assert found.group(1).endswith(f"pageId={page[-1]['id']}") and "conditions=" in found.group(1)
        url = found.group(1) if found else ""
    assert len(seen) == total and seen == sorted(seen)
    assert len(sandbox.requests("connectwise")) == -(-total // 200)
    refused = cw.get(api + CATALOG, headers=headers, params={"orderBy": "price desc"}, timeout=5)
    assert refused.status_code == 400 and refused.json()["code"] == "BadRequest"


def test_count(api: str, cw: requests.Session, sandbox: SandboxControl) -> None:
    total = catalog_count(sandbox)
    assert cw.get(api + CATALOG + "/count", timeout=5).json() == {"count": total}
    services = cw.get(api + CATALOG + "/count", params={"conditions": 'productClass = "Service"'}, timeout=5)
    assert services.json() == {"count": 4}
    additions = cw.get(api + "/finance/agreements/1/additions/count", timeout=5).json()
    assert additions == {"count": 0}


def test_child_collections_and_category_subcategories(api: str, cw: requests.Session) -> None:
    lines = cw.get(api + "/procurement/purchaseorders/1/lineitems", timeout=5).json()
    assert [line["lineNumber"] for line in lines] == [1, 2] and all(line["purchaseOrderId"] == 1 for line in lines)
    subs = cw.get(api + "/procurement/categories/1/subcategories/", timeout=5).json()
    assert subs and all(s["category"]["id"] == 1 for s in subs)
    routed = cw.get(api.replace("/procurement", "") + "/PROCUREMENT/Catalog/1", timeout=5)
    assert routed.status_code == 200 and routed.json()["id"] == 1
