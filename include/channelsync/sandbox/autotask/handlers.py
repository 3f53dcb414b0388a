"""Per-entity endpoints: get, query (+ next pages, count), create / update / delete, child URLs, metadata."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from channelsync.sandbox.autotask import records
from channelsync.sandbox.autotask.indexes import IndexedTable, where
from channelsync.sandbox.autotask.metadata import (
    CHILDREN,
    PRODUCT_CATEGORY,
    ROOT_OPS,
    C,
    D,
    G,
    Q,
    U,
    entity_information,
    entity_meta,
    field_information,
)
from channelsync.sandbox.autotask.query import (
    Query,
    QueryError,
    decode_token,
    encode_token,
    page,
    parse_query,
    project,
)
from channelsync.sandbox.autotask.rules import EntityError, missing_reference
from channelsync.sandbox.framework import SandboxRequest, SandboxResponse, json_response

if TYPE_CHECKING:
    from channelsync.sandbox.autotask.emulator import AutotaskEmulator

FIRST = -(2**63)
KEPT_PAGES = 50  # "the API retains the 50 most recent pages" [weak]; bounds the prev-page stack
DELETE_REFUSED = ("No message. No matching records found. The logged in Resource may not have the required "
                  "permissions to delete the data.")


def _errors(*messages: str) -> SandboxResponse:
    return json_response(500, {"errors": list(messages)})


def _not_allowed(method: str) -> SandboxResponse:
    return json_response(405, {"Message": f"The requested resource does not support http method '{method}'."})


def dispatch(emu: AutotaskEmulator, request: SandboxRequest, entity: str, rest: list[str]) -> SandboxResponse:
    try:
        return _dispatch(emu, request, entity, rest)
    except (QueryError, EntityError) as exc:
        return _errors(str(exc))
    except ValueError as exc:  # malformed JSON body
        return _errors(str(exc))


def _dispatch(emu: AutotaskEmulator, request: SandboxRequest, entity: str, rest: list[str]) -> SandboxResponse:
    ops = ROOT_OPS[entity]
    method = request.method
    low = [s.lower() for s in rest]
    if not rest:
        if method == "POST" and C in ops:
            return json_response(200, {"itemId": emu.writer.create(entity, request.json())})
        if method in ("PATCH", "PUT") and U in ops:
            return json_response(200, {"itemId": emu.writer.update(entity, request.json(), replace=method == "PUT")})
        return _not_allowed(method)
    if low[0] == "entityinformation":
        return _information(request, entity, low[1:])
    if low[0] == "query" and Q in ops:
        if len(low) == 1 and method in ("GET", "POST"):
            return _query(emu, request, entity, None)
        if low[1:] == ["count"] and method in ("GET", "POST"):
            return _count(emu, request, entity)
        if low[1:] == ["next"]:
            return _query(emu, request, entity, request.arg("paging") or "")
        return _not_allowed(method)
    if not _is_int(rest[0]):
        return _not_allowed(method)
    key = int(rest[0])
    if len(rest) == 1:
        if method == "GET" and G in ops:
            return json_response(200, {"item": emu.store.table(entity).get(key)})
        if method == "DELETE" and D in ops:
            return _delete(emu, entity, key, None)
        return _not_allowed(method)
    child = next((c for (p, s), c in CHILDREN.items() if p == entity and s.lower() == low[1]), None)
    if child is None:
        return _not_allowed(method)
    return _child(emu, request, entity, key, child.entity, child.parent_field, child.ops, rest[2:])


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _information(request: SandboxRequest, entity: str, tail: list[str]) -> SandboxResponse:
    if request.method != "GET":
        return _not_allowed(request.method)
    if not tail:
        return json_response(200, {"info": entity_information(entity)})
    if tail == ["fields"]:
        return json_response(200, {"fields": field_information(entity)})
    if tail == ["userdefinedfields"]:
        return json_response(200, {"fields": _udf_fields(entity)})
    return _not_allowed(request.method)


def _udf_fields(entity: str) -> list[dict[str, Any]]:
    if entity != "Products":
        return []
    from channelsync.sandbox.autotask.seed import PRODUCT_UDF

    return [{
        "name": PRODUCT_UDF, "label": PRODUCT_UDF, "type": "string", "length": 8000,
        "description": "The distributor's own SKU", "isRequired": False, "isReadOnly": False,
        "isQueryable": True, "isReference": False, "referenceEntityType": "", "isPickList": False,
        "picklistValues": None, "picklistParentValueField": "", "defaultValue": None,
        "isSupportedWebhookField": False,
    }]


def _search(request: SandboxRequest) -> Any:
    if request.method == "POST":
        return request.json()
    raw = request.arg("search")
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise QueryError(f"The search parameter is not valid JSON: {exc.msg}") from exc


def _sorted_rows(emu: AutotaskEmulator, entity: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Rows id-ascending with their ids, cached while the table's membership is unchanged.

    Paging 20,000 products re-sorted the table on every page; records are updated in place, so only
    inserts and deletes invalidate the order: (row count, next id) changes on both. (A delete followed
    by an insert with an explicit, lower id through the control API would go unnoticed; acceptable.)
    """
    table = emu.store.table(entity)
    signature = (len(table), table._next_id)
    cached = emu.sorted_cache.get(entity)
    if cached is None or cached[0] != signature:
        rows = sorted(table.rows(), key=lambda r: r["id"])
        cached = emu.sorted_cache[entity] = (signature, rows, [r["id"] for r in rows])
    return cached[1], cached[2]


def _candidates(emu: AutotaskEmulator, entity: str, query: Query) -> tuple[list[dict[str, Any]], list[int]]:
    """The rows the query may match, id-ascending with their ids: through the index when its first filter is a
    look-up on a reference field (``query.hint``), else the whole table."""
    table = emu.store.table(entity)
    if query.hint is not None and isinstance(table, IndexedTable):
        found = table.matching(*query.hint)
        if found is not None:
            rows = sorted(found, key=lambda r: r["id"])
            return rows, [r["id"] for r in rows]
    return _sorted_rows(emu, entity)


def _query(emu: AutotaskEmulator, request: SandboxRequest, entity: str, token: str | None) -> SandboxResponse:
    meta = entity_meta(entity)
    state: dict[str, Any] = {"after": FIRST, "prev": [], "m": request.method}
    if token is not None:
        state = decode_token(token)
        if state.get("m") != request.method:
            # A POST query's next page must be POSTed with the same body; a GET one is fetched with GET.
            return _not_allowed(request.method)
    query: Query = parse_query(_search(request), meta)
    if token is not None and state.get("q") != query.fingerprint:
        raise QueryError("The paging token does not belong to this query.")  # wording assumed
    rows, ids = _candidates(emu, entity, query)
    after = int(state["after"])
    items, more = page(rows, ids, query, after)
    search = None if request.method == "POST" else request.arg("search")
    next_url = prev_url = None
    if more and items:
        stack = [*state["prev"], after][-KEPT_PAGES:]
        next_token = {"after": items[-1]["id"], "prev": stack, "m": request.method, "q": query.fingerprint,
                      "pageSize": query.max_records}
        next_url = emu.next_page_url(entity, encode_token(next_token), search)
    if state["prev"]:
        prev_token = {"after": state["prev"][-1], "prev": state["prev"][:-1], "m": request.method,
                      "q": query.fingerprint, "pageSize": query.max_records}
        prev_url = emu.next_page_url(entity, encode_token(prev_token), search)
    return json_response(200, {
        "items": [project(row, query.include_fields) for row in items],
        "pageDetails": {"count": len(items), "requestCount": query.max_records,
                        "prevPageUrl": prev_url, "nextPageUrl": next_url},
    })


def _count(emu: AutotaskEmulator, request: SandboxRequest, entity: str) -> SandboxResponse:
    query = parse_query(_search(request), entity_meta(entity), count_only=True)
    rows = _candidates(emu, entity, query)[0]
    return json_response(200, {"queryCount": sum(1 for row in rows if query.predicate(row))})


def _delete(emu: AutotaskEmulator, entity: str, key: int, parent: tuple[str, int] | None) -> SandboxResponse:
    table = emu.store.table(entity)
    row = table.get(key)
    if row is None or (parent is not None and row.get(parent[0]) != parent[1]):
        return _errors(DELETE_REFUSED)
    if entity == "ContractCharges" and row.get("isBilled"):
        return _errors("This charge has been billed and can no longer be deleted.")  # wording assumed
    table.delete(key)
    if entity == "ServiceBundles":
        links = emu.store.table("ServiceBundleServices")
        for link in where(links, "serviceBundleID", key):
            links.delete(link["id"])
    return json_response(200, {"itemId": key})


def _child(
    emu: AutotaskEmulator, request: SandboxRequest, parent: str, parent_id: int, entity: str, parent_field: str,
    ops: frozenset[str], rest: list[str],
) -> SandboxResponse:
    method = request.method
    if rest and rest[0].lower() == "entityinformation":
        return _information(request, entity, [s.lower() for s in rest[1:]])
    if emu.store.table(parent).get(parent_id) is None and method in ("POST", "PATCH", "PUT"):
        raise missing_reference(parent_field)
    forced = {parent_field: parent_id}
    if not rest:
        if method == "GET" and "list" in ops:
            items = sorted(where(emu.store.table(entity), parent_field, parent_id), key=lambda r: r["id"])
            return json_response(200, {"items": items, "pageDetails": {
                "count": len(items), "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None}})
        if method == "POST" and C in ops:
            return json_response(200, {"itemId": emu.writer.create(entity, request.json(), forced=forced)})
        if method in ("PATCH", "PUT") and U in ops:
            item_id = emu.writer.update(entity, request.json(), replace=method == "PUT", forced=forced)
            return json_response(200, {"itemId": item_id})
        return _not_allowed(method)
    if len(rest) == 1 and _is_int(rest[0]):
        key = int(rest[0])
        if method == "GET" and G in ops:
            row = emu.store.table(entity).get(key)
            return json_response(200, {"item": row if row and row.get(parent_field) == parent_id else None})
        if method == "DELETE" and D in ops:
            return _delete(emu, entity, key, (parent_field, parent_id))
    return _not_allowed(method)


def bulk_products(emu: AutotaskEmulator, count: int) -> int:
    """Add ``count`` products copied from the world's catalog (for benchmarks at scale)."""
    table = emu.store.table("Products")
    hardware = emu.context.world.hardware
    for n in range(count):
        item = hardware[n % len(hardware)]
        suffix = "" if n < len(hardware) else f"-{n // len(hardware)}"
        table.insert(records.new("Products", {
            "name": f"{item.description}{suffix}"[:100], "description": item.long_description,
            "manufacturerName": item.manufacturer, "manufacturerProductName": f"{item.mpn}{suffix}"[:50],
            "sku": item.synnex_sku, "unitCost": float(item.cost), "unitPrice": float(item.msrp),
            "msrp": float(item.msrp), "productCategory": PRODUCT_CATEGORY[item.category_name],
            "isActive": True, "isSerialized": False, "billingType": 1, "userDefinedFields": [],
        }))
    return count
