"""The ConnectWise PSA REST 3.0 emulator (docs/vendors/connectwise.md §B.8, the emulator checklist).

Under the ``/connectwise`` prefix:

- ``GET /login/companyinfo/{company}`` (no auth) → PascalCase JSON, codebase ``v4_6_release/``;
- ``/{codebase}/apis/3.0/{module}/{resource}[/{id}[/{child}[/{id}]]]``, routed case-insensitively,
  trailing slash optional (the spec has both forms);
- auth: ``clientId`` header (missing → 400, the message names clientId), then Basic
  ``company+public:private`` (wrong → 401 ``{"code":"Unauthorized", …}``). ASSUMPTION: the cloud
  habit of answering bad credentials with 404 is not reproduced; 401 is what clients must handle anyway.
- the ``Accept: application/vnd.connectwise.com+json; version=…`` header is accepted and ignored;
  responses carry ``api-current-version``.

Control: ``POST /_sandbox/connectwise/limits {"requests_per_second": n, "retry_after": s}``;
``POST /_sandbox/connectwise/security {"deny": ["POST procurement/catalog", …]}`` (403 Security);
``POST /_sandbox/connectwise/catalog/bulk {"count": n}`` tops the catalog up (benchmarks);
``POST /_sandbox/connectwise/agreements`` gives a company an agreement with additions (``agreements.py``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, ClassVar

from channelsync.sandbox import demo_credentials
from channelsync.sandbox.connectwise import listing, models, rules, seed
from channelsync.sandbox.connectwise.errors import CwError, not_found
from channelsync.sandbox.connectwise.handlers import ResourceHandlers
from channelsync.sandbox.connectwise.limits import RequestRateLimit
from channelsync.sandbox.connectwise.writes import Writer, require_parent
from channelsync.sandbox.framework import (
    Emulator,
    MethodNotAllowed,
    RouteNotFound,
    Router,
    SandboxRequest,
    SandboxResponse,
    json_response,
)

CODEBASE = "v4_6_release/"
API_VERSION = "2025.8"
Handler = Callable[[SandboxRequest], SandboxResponse]


class ConnectWiseEmulator(ResourceHandlers, Emulator):
    system: ClassVar[str] = "connectwise"

    def __init__(self, context: Any) -> None:
        self.limits = RequestRateLimit()
        self.denied: set[str] = set()
        self._id_cache: dict[str, tuple[tuple[int, int], list[int]]] = {}
        self._index: dict[tuple[str, str], dict[str, int]] = {}
        self._json_cache: dict[str, dict[int, bytes]] = {}
        self.router = Router(case_insensitive=True)
        super().__init__(context)
        self.writer = Writer(self.store, self.lookup, lambda: self.context.base_url)
        self._routes()

    # --- lifecycle -------------------------------------------------------------------------------

    def reset(self) -> None:
        self._invalidate()
        seed.seed(self.store, self.context.world, self.context.clock.now(), self.context.base_url)

    def on_direct_edit(self, table: str, record: dict[str, Any]) -> None:
        self._invalidate()
        rules.info(record, self.context.clock.now(), record.get("_info"))

    def _invalidate(self) -> None:
        self._id_cache.clear()
        self._index.clear()
        self._json_cache.clear()

    def error_response(self, status: int, message: str) -> SandboxResponse:
        if status == 429:  # the throttling body the docs quote (not ErrorResponseMessage)
            return json_response(429, {"error": "ConnectWiseAPI", "message": message})
        return CwError(status, "UnexpectedServerError" if status >= 500 else "BadRequest", message).response()

    # --- dispatch --------------------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        try:
            parts = request.path.strip("/").split("/")
            if len(parts) >= 3 and parts[0].lower() == "login" and parts[1].lower() == "companyinfo":
                return self._company_info(parts[2])
            if len(parts) < 3 or parts[1].lower() != "apis" or parts[2] != "3.0":
                raise CwError(404, "NotFound", f"The resource {request.path} was not found.")
            self._authenticate(request)
            retry_after = self.limits.admit()
            if retry_after is not None:
                return json_response(
                    429, {"error": "ConnectWiseAPI",
                          "message": f"Too many requests. Please try again in {int(retry_after)} seconds."},
                    {"Retry-After": str(int(retry_after))})
            request.path = "/" + "/".join(parts[3:])
            self._authorize(request)
            try:
                handler = self.router.match(request)
            except RouteNotFound as exc:
                raise CwError(404, "NotFound", f"The resource {request.path} was not found.") from exc
            except MethodNotAllowed as exc:
                raise CwError(405, "MethodNotAllowed",
                              f"The requested resource does not support http method '{request.method}'.") from exc
            response = handler(request)
        except CwError as exc:
            response = exc.response()
        response.headers.setdefault("api-current-version", API_VERSION)
        return response

    def _company_info(self, company: str) -> SandboxResponse:
        if company.lower() != demo_credentials.CONNECTWISE["company"].lower():
            # ASSUMPTION: an unknown company id is answered 404 (undocumented).
            raise CwError(404, "NotFound", f"Company {company} not found.")
        return json_response(200, {
            "CompanyName": "channelsync sandbox", "Codebase": CODEBASE, "VersionCode": "v2025.8",
            "VersionNumber": "v4.6.2025.8", "CompanyID": demo_credentials.CONNECTWISE["company"],
            "IsCloud": "True", "SiteUrl": self.context.base_url + "/connectwise",
        })

    def _authenticate(self, request: SandboxRequest) -> None:
        creds = demo_credentials.CONNECTWISE
        if not (request.headers.get("clientId") or "").strip():
            raise CwError(400, "InvalidClientId",
                          "A clientId header is required. Register your integration at "
                          "https://developer.connectwise.com/ClientID to get one.")
        header = request.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8") if scheme.lower() == "basic" else ""
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        user, _, private = decoded.partition(":")
        company, _, public = user.partition("+")
        if not decoded or company.lower() != creds["company"].lower() or public != creds["public_key"] \
                or private != creds["private_key"]:
            raise CwError(401, "Unauthorized", "Authorization has been denied for this request.")

    def _authorize(self, request: SandboxRequest) -> None:
        if not self.denied:
            return
        path = request.path.strip("/").lower()
        for rule in self.denied:
            method, _, prefix = rule.partition(" ")
            if method.upper() in (request.method, "*") and path.startswith(prefix.strip("/").lower()):
                raise CwError(403, "Security", "You do not have security permission to perform this action.")

    # --- routes ----------------------------------------------------------------------------------

    def _routes(self) -> None:
        add = self.router.add
        add("GET", "/system/info", lambda r: json_response(200, {
            "version": "v2025.8", "isCloud": True, "serverTimeZone": "Eastern Standard Time",
            "licenseBits": [], "cloudRegion": "NA", "maxWorkFlowRecordsAllowed": 0}))
        add("GET", "/procurement/categories/{parentId:int}/subcategories",
            lambda r: self._list(models.SUBCATEGORY, r, self._scope("category", r)))
        add("GET", "/procurement/categories/{parentId:int}/subcategories/count",
            lambda r: self._count(models.SUBCATEGORY, r, self._scope("category", r)))
        for spec in models.TOP_LEVEL:
            self._collection(f"/{spec.path}", spec)
        self._children("/procurement/purchaseorders/{parentId:int}/lineitems", models.LINE_ITEM)
        self._children("/finance/agreements/{parentId:int}/additions", models.ADDITION)

    def _collection(self, path: str, spec: models.ResourceSpec) -> None:
        add = self.router.add
        add("GET", f"{path}/count", lambda r: self._count(spec, r))
        add("GET", path, lambda r: self._list(spec, r))
        add("POST", path, lambda r: self._create(spec, r))
        add("GET", f"{path}/{{id:int}}", lambda r: self._get(spec, r))
        add("PUT", f"{path}/{{id:int}}", lambda r: self._put(spec, r))
        add("PATCH", f"{path}/{{id:int}}", lambda r: self._patch(spec, r))
        add("DELETE", f"{path}/{{id:int}}", lambda r: self._delete(spec, r))

    def _children(self, path: str, spec: models.ResourceSpec) -> None:
        def scoped(handler: Callable[[models.ResourceSpec, SandboxRequest, Any], SandboxResponse]) -> Handler:
            def run(request: SandboxRequest) -> SandboxResponse:
                parent_id = int(request.params["parentId"])
                require_parent(self.store, spec, parent_id)
                assert spec.parent_field is not None
                field = spec.parent_field
                return handler(spec, request, lambda rec: rec.get(field) == parent_id)
            return run

        self._collection_with(path, spec, scoped)

    def _collection_with(self, path: str, spec: models.ResourceSpec, scoped: Callable[..., Handler]) -> None:
        add = self.router.add
        add("GET", f"{path}/count", scoped(lambda s, r, scope: self._count(s, r, scope)))
        add("GET", path, scoped(lambda s, r, scope: self._list(s, r, scope)))
        add("POST", path, scoped(lambda s, r, scope: self._create(s, r)))
        add("GET", f"{path}/{{id:int}}", scoped(lambda s, r, scope: self._get(s, r, scope)))
        add("PUT", f"{path}/{{id:int}}", scoped(lambda s, r, scope: self._put(s, r, scope)))
        add("PATCH", f"{path}/{{id:int}}", scoped(lambda s, r, scope: self._patch(s, r, scope)))
        add("DELETE", f"{path}/{{id:int}}", scoped(lambda s, r, scope: self._delete(s, r, scope)))

    def _scope(self, field: str, request: SandboxRequest) -> listing.Predicate:
        parent_id = int(request.params["parentId"])
        if self.store.table("categories").get(parent_id) is None:
            raise not_found("Category", parent_id)
        return lambda rec: (rec.get(field) or {}).get("id") == parent_id

    def control(self, request: SandboxRequest) -> SandboxResponse:
        return self.control_request(request)
