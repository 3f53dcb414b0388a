"""Resource handlers of the ConnectWise emulator: list / count / get / create / put / patch / delete,
the lookup indexes they use, and the emulator's control endpoints. Mixed into the emulator."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from channelsync.sandbox.connectwise import listing, models, rules, seed
from channelsync.sandbox.connectwise.errors import CwError, bad_request, not_found
from channelsync.sandbox.framework import SandboxRequest, SandboxResponse, json_response

if TYPE_CHECKING:
    from channelsync.sandbox.connectwise.limits import RequestRateLimit
    from channelsync.sandbox.connectwise.writes import Writer
    from channelsync.sandbox.context import SandboxContext
    from channelsync.sandbox.store import RecordStore

PAGING_PARAMS = ("page", "pageid")
# Deleting these is refused with 409 while a catalog item still points at them (record in use).
IN_USE_BY_CATALOG = {"subcategories": "subcategory", "categories": "category", "productTypes": "type",
                     "manufacturers": "manufacturer"}


def _encode(record: Any) -> bytes:
    return json.dumps(record, default=str, separators=(",", ":")).encode("utf-8")


class ResourceHandlers:
    store: RecordStore
    context: SandboxContext
    writer: Writer
    limits: RequestRateLimit
    denied: set[str]
    _id_cache: dict[str, tuple[tuple[int, int], list[int]]]
    _index: dict[tuple[str, str], dict[str, int]]
    # Encoded JSON per (table, id): a 1,000-record page is a join of cached bytes, not a dumps of
    # 1,000 dicts. Dropped per table on every write to it and wholesale on direct edits / reset.
    _json_cache: dict[str, dict[int, bytes]]

    def _encoded(self, table_name: str, record: dict[str, Any]) -> bytes:
        cache = self._json_cache.setdefault(table_name, {})
        encoded = cache.get(record["id"])
        if encoded is None:
            encoded = cache[record["id"]] = _encode(record)
        return encoded

    def _page_body(self, table_name: str, page: list[dict[str, Any]], fields: list[str] | None) -> bytes:
        if fields:
            return _encode([listing.project(r, fields) for r in page])
        return b"[" + b",".join(self._encoded(table_name, r) for r in page) + b"]"

    # --- indexes ---------------------------------------------------------------------------------

    def sorted_ids(self, table_name: str) -> list[int]:
        table = self.store.table(table_name)
        key = (len(table), table._next_id)
        cached = self._id_cache.get(table_name)
        if cached is None or cached[0] != key:
            ids = sorted(row["id"] for row in table.rows())
            self._id_cache[table_name] = (key, ids)
            return ids
        return cached[1]

    def lookup(self, table_name: str, field: str, value: str) -> dict[str, Any] | None:
        """Row whose ``field`` equals ``value`` case-insensitively (unique fields, name references)."""
        table = self.store.table(table_name)
        index = self._index.get((table_name, field))
        if index is None:
            index = {str(r[field]).casefold(): r["id"] for r in table.rows() if r.get(field) is not None}
            self._index[(table_name, field)] = index
        row_id = index.get(value.casefold())
        row = table.get(row_id) if row_id is not None else None
        if row is not None and str(row.get(field, "")).casefold() == value.casefold():
            return row
        return None

    def _index_row(self, table_name: str, row: dict[str, Any], old: dict[str, Any] | None = None) -> None:
        for (name, field), index in self._index.items():
            if name != table_name:
                continue
            if old is not None and old.get(field) is not None:
                index.pop(str(old[field]).casefold(), None)
            if row.get(field) is not None:
                index[str(row[field]).casefold()] = row["id"]

    # --- reads -----------------------------------------------------------------------------------

    def _list(self, spec: models.ResourceSpec, request: SandboxRequest,
              scope: listing.Predicate | None = None) -> SandboxResponse:
        query = listing.parse_query(request, spec, scope)
        table = self.store.table(spec.table)
        ids = self.sorted_ids(spec.table)
        url = f"{request.base_url}/connectwise/{models.API_ROOT}{request.path}"
        carried = listing.carried_params(request, PAGING_PARAMS)
        if query.forward_only:
            page, more = listing.forward_page(ids, table.get, query)
            next_link = ""
            if more:
                next_link = listing.link_header(url, carried, [("next", "pageId", str(page[-1]["id"]))])
            headers = {"Link": next_link}
        else:
            rows = (table.get(i) for i in ids)
            if query.predicate is None and not query.order:
                total = len(ids)
                start = (query.page - 1) * query.page_size
                page = [r for r in (table.get(i) for i in ids[start:start + query.page_size]) if r is not None]
            else:
                matched = listing.ordered(list(listing.filtered((r for r in rows if r is not None),
                                                                query.predicate)), query.order)
                total = len(matched)
                start = (query.page - 1) * query.page_size
                page = matched[start:start + query.page_size]
            headers = {"Link": self._navigable_links(url, carried, query.page, query.page_size, total)}
            if not headers["Link"]:
                del headers["Link"]
        body = self._page_body(spec.table, page, query.fields)
        return SandboxResponse(200, body, {"Content-Type": "application/json; charset=utf-8", **headers})

    @staticmethod
    def _navigable_links(url: str, carried: list[tuple[str, str]], page: int, size: int, total: int) -> str:
        last = max(1, -(-total // size))
        if last <= 1 and page <= 1:
            return ""
        rels: list[tuple[str, str, str]] = []
        if page > 1:
            rels += [("first", "page", "1"), ("prev", "page", str(min(page - 1, last)))]
        if page < last:
            rels += [("next", "page", str(page + 1)), ("last", "page", str(last))]
        if not any(k.lower() == "pagesize" for k, _ in carried):
            carried = [("pageSize", str(size)), *carried]
        return listing.link_header(url, carried, rels)

    def _count(self, spec: models.ResourceSpec, request: SandboxRequest,
               scope: listing.Predicate | None = None) -> SandboxResponse:
        query = listing.parse_query(request, spec, scope)
        if query.predicate is None:
            return json_response(200, {"count": len(self.store.table(spec.table))})
        table = self.store.table(spec.table)
        count = sum(1 for r in listing.filtered(table.rows(), query.predicate))
        return json_response(200, {"count": count})

    def _find(self, spec: models.ResourceSpec, request: SandboxRequest,
              scope: listing.Predicate | None = None) -> dict[str, Any]:
        record_id = int(request.params["id"])
        row = self.store.table(spec.table).get(record_id)
        if row is None or (scope is not None and not scope(row)):
            raise not_found(spec.label, record_id)
        return row

    def _get(self, spec: models.ResourceSpec, request: SandboxRequest,
             scope: listing.Predicate | None = None) -> SandboxResponse:
        row = self._find(spec, request, scope)
        fields = request.arg("fields", case_insensitive=True)
        return json_response(200, listing.project(row, [f.strip() for f in fields.split(",")] if fields else None))

    # --- writes ----------------------------------------------------------------------------------

    def _json(self, request: SandboxRequest) -> Any:
        try:
            return request.json()
        except ValueError as exc:
            raise bad_request(f"The request body is invalid: {exc}", "InvalidObject") from exc

    def _parent(self, spec: models.ResourceSpec, request: SandboxRequest) -> dict[str, Any] | None:
        if spec.parent_table is None:
            return None
        return self.store.table(spec.parent_table).get(int(request.params["parentId"]))

    def _create(self, spec: models.ResourceSpec, request: SandboxRequest) -> SandboxResponse:
        row = self.insert_record(spec, self._json(request), self._parent(spec, request))
        location = models.href(request.base_url, spec.path, row["id"])
        return json_response(201, row, {"Location": location})

    def insert_record(self, spec: models.ResourceSpec, body: Any, parent: dict[str, Any] | None = None
                      ) -> dict[str, Any]:
        """A POST's work: validate, apply the server rules, insert (also used by the seeding controls)."""
        table = self.store.table(spec.table)
        with table.lock:  # unique checks and insert as one step
            record = self.writer.build(spec, body)
            now = self.context.clock.now()
            rules.apply(spec.table, record, self.store, now, creating=True, parent=parent)
            rules.info(record, now)
            row = table.insert({"id": table.next_id(), **record})
            self._index_row(spec.table, row)
        self._after_write(spec, row)
        return row

    def _replace(self, spec: models.ResourceSpec, request: SandboxRequest, row: dict[str, Any],
                 record: dict[str, Any]) -> SandboxResponse:
        now = self.context.clock.now()
        rules.apply(spec.table, record, self.store, now, creating=False, parent=self._parent(spec, request))
        rules.info(record, now, row.get("_info"))
        record = {"id": row["id"], **{k: v for k, v in record.items() if k != "id"}}
        with self.store.table(spec.table).lock:
            old = dict(row)
            row.clear()
            row.update(record)  # in place: the id index and other holders keep the same dict
            self._index_row(spec.table, row, old)
        self._after_write(spec, row)
        return json_response(200, row)

    def _put(self, spec: models.ResourceSpec, request: SandboxRequest,
             scope: listing.Predicate | None = None) -> SandboxResponse:
        row = self._find(spec, request, scope)
        with self.store.table(spec.table).lock:
            record = self.writer.build(spec, self._json(request), existing=row, record_id=row["id"])
        return self._replace(spec, request, row, record)

    def _patch(self, spec: models.ResourceSpec, request: SandboxRequest,
               scope: listing.Predicate | None = None) -> SandboxResponse:
        row = self._find(spec, request, scope)
        with self.store.table(spec.table).lock:
            record = self.writer.apply_patch(spec, row, self._json(request))
        return self._replace(spec, request, row, record)

    def _delete(self, spec: models.ResourceSpec, request: SandboxRequest,
                scope: listing.Predicate | None = None) -> SandboxResponse:
        row = self._find(spec, request, scope)
        field = IN_USE_BY_CATALOG.get(spec.table)
        if field is not None:
            user = next((r for r in self.store.table("catalogItems").rows()
                         if (r.get(field) or {}).get("id") == row["id"]), None)
            if user is not None:
                raise CwError(409, "Conflict", f"{spec.label} {row['id']} is in use by catalogItem {user['id']} "
                              "and cannot be deleted.")
        self.store.table(spec.table).delete(row["id"])
        self._after_write(spec, row)
        return SandboxResponse(204)

    def _after_write(self, spec: models.ResourceSpec, row: dict[str, Any]) -> None:
        self._json_cache.get(spec.table, {}).pop(row["id"], None)
        if spec.table == "purchaseOrderLineItems":
            self._json_cache.get("purchaseOrders", {}).pop(row["purchaseOrderId"], None)
            rules.refresh_po_totals(self.store, row["purchaseOrderId"])

    # --- control ---------------------------------------------------------------------------------

    def control_request(self, request: SandboxRequest) -> SandboxResponse:
        path = request.path.strip("/").lower()
        body = request.json() if request.method == "POST" else None
        if path == "limits":
            if request.method == "POST":
                body = body or {}
                self.limits.configure(body.get("requests_per_second"), body.get("retry_after"))
            return json_response(200, self.limits.describe())
        if path == "security":
            if request.method == "POST":
                self.denied = {str(rule) for rule in (body or {}).get("deny", [])}
            return json_response(200, {"deny": sorted(self.denied)})
        if path == "agreements" and request.method == "POST":
            from channelsync.sandbox.connectwise.agreements import seed_agreement

            try:
                return json_response(200, seed_agreement(self, body))
            except CwError as exc:
                return exc.response()
        if path == "catalog/bulk" and request.method == "POST":
            count = int((body or {}).get("count", 0))
            total = seed.bulk_catalog_items(self.store, self.context.world, count, self.context.clock.now(),
                                            self.context.base_url)
            self._id_cache.clear()
            self._index.clear()
            self._json_cache.clear()
            return json_response(200, {"count": total})
        return json_response(404, {"error": f"no control endpoint {request.path} for connectwise"})
