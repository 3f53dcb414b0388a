"""Crayon Cloud-iQ Customer API v1 (successor of rhipe PRISM) under ``/crayon/api/v1``.

Faithful to specs/crayon-customer-api-v1.openapi.json and docs/vendors/crayon.md §2.2:
- Answers are PascalCase, as the live API's (the spec's schemas with their names capitalised; see
  ``records``): ``{"AccessToken", "ExpiresIn", ...}``, ``{"TotalHits", "Items"}``, ``{"ErrorCode", ...}``.
- Requests are read as ASP.NET binds them: query parameter names, form field names and JSON property
  names case-insensitively (``pagesize``, ``PageSize`` and ``PAGESIZE`` are one parameter; a body may
  say ``quantity`` or ``Quantity``).
- ``POST /api/v1/connect/token``: Basic auth with the API client id / secret, form
  ``grant_type=password&username&password&scope=CustomerApi``; ``ExpiresIn`` 3600 (sandbox clock).
  A refusal is 400 with the ``Token`` shape and its ``Error`` set (``invalid_client``, ``invalid_grant``,
  ...) — assumption: the spec's Token schema carries an ``error`` field for exactly that.
- Every other call needs ``Authorization: Bearer``; a missing, unknown or expired token gets 401 with an
  empty body and ``WWW-Authenticate`` (ASP.NET's JwtBearer behaviour). ``GET /Ping`` is anonymous.
- Lists take ``Page`` (1-based, default 1) and ``PageSize`` (default 50) and answer the SDK's
  ``ApiCollection`` envelope ``{"TotalHits", "Items"}``. Assumption: the spec declares bare arrays, but
  the official SDK (CrayonGroup/crayon-api-sdk) deserialises every list into ``ApiCollection<T> {Items,
  TotalHits}`` and user code reads ``response['Items']``.
- Errors: the SDK's ``Error`` shape ``{ErrorCode, Message, Parameters, ObjectErrors}``.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qs

from channelsync.sandbox import demo_credentials
from channelsync.sandbox.billing import BillingBook, add_months, billing_mix, month_start, usage_amount
from channelsync.sandbox.crayon import records
from channelsync.sandbox.crayon.control import (
    BadRequest,
    api_purchase,
    api_update,
    handle_control,
    publish_next,
    reconciliation_csv,
)
from channelsync.sandbox.framework import (
    Emulator,
    MethodNotAllowed,
    RouteNotFound,
    Router,
    SandboxRequest,
    SandboxResponse,
    json_response,
)
from channelsync.sandbox.world import CloudOffer, Customer

TOKEN_LIFETIME = 3600
HISTORY_MONTHS = 3  # invoices already published at reset, before the clock's current month
TOKEN_FIELDS = ("AccessToken", "IdentityToken", "Error", "ExpiresIn", "TokenType", "RefreshToken")


class CrayonEmulator(Emulator):
    system: ClassVar[str] = "crayon"

    # -- state ---------------------------------------------------------------------------------
    def reset(self) -> None:
        self.store.clear()
        self.tokens: dict[str, datetime] = {}
        self.router = self._routes()
        world = self.context.world
        self.tenants = self.store.table("customertenants", id_field="Id")
        self.subscriptions = self.store.table("subscriptions", id_field="Id", first_id=5_100_001)
        self.products = self.store.table("agreementproducts", id_field="UniqueId")
        self.statements = self.store.table("billingstatements", id_field="Id", first_id=100_001)
        self.lines = self.store.table("billingrecords", id_field="Id")
        self.store.table("organizations", id_field="Id").insert(dict(records.ORGANIZATION))
        self.customer_by_tenant: dict[int, str] = {}
        self.offers: dict[str, CloudOffer] = {offer.nce_id: offer for offer in world.offers}
        for index, offer in enumerate(world.offers):
            self.products.insert(records.agreement_product_record(index, offer, offer.unit_cost, offer.rrp))
        today = self.context.clock.now().date()
        first_month = _months_back(today, HISTORY_MONTHS)
        self.book = BillingBook(world.offers, style="pair", next_month=first_month,
                                usage=lambda key, month: usage_amount(world.seed, f"crayon:{key}", month))
        mine = [c for c in world.customers if c.billing_distributor == "crayon"]
        for customer in mine:
            self.add_tenant(customer, 310_000 + customer.index)
        by_index = {c.index: c for c in mine}
        seats = [s for s in world.seat_subscriptions if s.customer_index in by_index]
        for seat in billing_mix(seats, world.offers, mine, first_month=first_month, renew_month=month_start(today),
                                seed=world.seed, tag="crayon"):
            owner = by_index[seat.customer_index]
            sub_id = self.add_subscription(310_000 + owner.index, seat.offer, seat.quantity, seat.start,
                                           publisher_sub_id=seat.subscription_id)
            self.book.add_existing(str(sub_id), owner.key, seat.offer, seat.quantity, seat.start)
        for _ in range(HISTORY_MONTHS):
            publish_next(self)

    def add_tenant(self, customer: Customer, tenant_id: int | None = None) -> dict[str, Any]:
        record = records.tenant_record(tenant_id or self.tenants.next_id(), customer)
        self.tenants.insert(record)
        self.customer_by_tenant[record["Id"]] = customer.key
        return record

    def add_subscription(self, tenant_id: int, offer: CloudOffer, quantity: int, start: date,
                         publisher_sub_id: str, sub_id: int | None = None) -> int:
        product = self.products.get(records.product_key(offer.nce_id)) or {}
        unit = product.get("SalesPrice", {}).get("Value", float(offer.unit_cost))
        rrp = product.get("RecommendedRetailPrice", {}).get("Value", float(offer.rrp))
        sub_id = sub_id or self.subscriptions.next_id()
        created = datetime.combine(start, datetime.min.time())
        self.subscriptions.insert(records.subscription_record(
            sub_id, tenant_id, offer, quantity, start, publisher_sub_id, Decimal(str(unit)), Decimal(str(rrp)), created,
        ))
        return sub_id

    # -- request handling ----------------------------------------------------------------------
    def _routes(self) -> Router:
        router = Router(case_insensitive=True)
        api = "/api/v1"
        router.add("POST", f"{api}/connect/token", self._token)
        router.add("GET", f"{api}/Ping", self._ping)
        router.add("GET", f"{api}/Me", self._me)
        router.add("GET", f"{api}/Organizations", self._list_organizations)
        router.add("GET", f"{api}/Organizations/{{id:int}}", self._get(lambda: self.store.table("organizations")))
        router.add("GET", f"{api}/CustomerTenants", self._list_tenants)
        router.add("GET", f"{api}/CustomerTenants/{{id:int}}", self._get(lambda: self.tenants))
        router.add("GET", f"{api}/CustomerTenants/{{id:int}}/detailed", self._tenant_detailed)
        router.add("GET", f"{api}/Subscriptions", self._list_subscriptions)
        router.add("POST", f"{api}/Subscriptions", self._create_subscription)
        router.add("GET", f"{api}/Subscriptions/{{id:int}}", self._get(lambda: self.subscriptions))
        router.add("PUT", f"{api}/Subscriptions/{{id:int}}", self._update_subscription)
        router.add("GET", f"{api}/AgreementProducts", self._list_products)
        router.add("GET", f"{api}/BillingStatements", self._list_statements)
        router.add("GET", f"{api}/BillingStatements/{{id:int}}/billingrecordsfile", self._records_file)
        router.add("GET", f"{api}/BillingStatements/{{id:int}}/reconciliationfile", self._reconciliation_file)
        return router

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        try:
            handler = self.router.match(request)
        except RouteNotFound:
            return self._error(404, "404 NotFound", f"No resource was found at {request.path}")
        except MethodNotAllowed as exc:
            return self._error(405, "405 MethodNotAllowed", f"{request.method} is not allowed; use {exc}")
        if handler not in (self._token, self._ping) and not self._authorized(request):
            return SandboxResponse(401, b"", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        try:
            return handler(request)
        except BadRequest as exc:
            return self._error(400, "400 BadRequest", str(exc), exc.parameters)

    def control(self, request: SandboxRequest) -> SandboxResponse:
        return handle_control(self, request)

    def error_response(self, status: int, message: str) -> SandboxResponse:
        reason = {429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
                  503: "ServiceUnavailable", 504: "GatewayTimeout"}.get(status, "Error")
        return self._error(status, f"{status} {reason}", message)

    def _error(self, status: int, code: str, message: str, parameters: dict[str, str] | None = None) -> SandboxResponse:
        return json_response(status, {"ErrorCode": code, "Message": message, "Parameters": parameters or {},
                                      "ObjectErrors": []})

    # -- auth ----------------------------------------------------------------------------------
    def _token(self, request: SandboxRequest) -> SandboxResponse:
        creds = demo_credentials.CRAYON
        client = _basic(request.headers.get("Authorization"))
        if client != (creds["client_id"], creds["client_secret"]):
            return _token_error("invalid_client")
        pairs = {k: v[-1] for k, v in request.query.items()} if not request.body else _form(request.text())
        form = {key.lower(): value for key, value in pairs.items()}  # form fields bind case-insensitively
        if form.get("grant_type") != "password":
            return _token_error("unsupported_grant_type")
        if not form.get("username") or not form.get("password"):
            return _token_error("invalid_request")
        if form.get("scope", "CustomerApi") != "CustomerApi":
            return _token_error("invalid_scope")
        if (form["username"], form["password"]) != (creds["username"], creds["password"]):
            return _token_error("invalid_grant")
        token = secrets.token_urlsafe(32)
        self.tokens[token] = self.context.clock.now() + timedelta(seconds=TOKEN_LIFETIME)
        return json_response(200, {"AccessToken": token, "IdentityToken": None, "Error": None,
                                   "ExpiresIn": TOKEN_LIFETIME, "TokenType": "Bearer", "RefreshToken": None})

    def _authorized(self, request: SandboxRequest) -> bool:
        header = request.headers.get("Authorization") or ""
        if not header.lower().startswith("bearer "):
            return False
        expiry = self.tokens.get(header[7:].strip())
        return expiry is not None and expiry > self.context.clock.now()

    def _ping(self, request: SandboxRequest) -> SandboxResponse:
        return json_response(200, {"Version": "v1", "Environment": "Sandbox"})

    def _me(self, request: SandboxRequest) -> SandboxResponse:
        user = demo_credentials.CRAYON["username"]
        claims = ["CustomerApi", f"organization:{records.ORGANIZATION['Id']}"]
        return json_response(200, {"UserId": "c0ffee00-0000-4000-8000-000000004401", "UserName": user,
                                   "Token": None, "Claims": claims})

    # -- reads ---------------------------------------------------------------------------------
    def _get(self, table: Any) -> Any:
        def handler(request: SandboxRequest) -> SandboxResponse:
            row = table().get(int(request.params["id"]))
            if row is None:
                return self._error(404, "404 NotFound", f"No entity with id {request.params['id']} was found")
            return json_response(200, row)
        return handler

    def _page(self, request: SandboxRequest, rows: list[dict[str, Any]]) -> SandboxResponse:
        page = _int_arg(request, "Page", 1)
        size = _int_arg(request, "PageSize", 50)
        if page < 1 or size < 1:
            raise BadRequest("Page and PageSize must be at least 1",
                             {"Page" if page < 1 else "PageSize": "The value must be at least 1."})
        start = (page - 1) * size
        return json_response(200, {"TotalHits": len(rows), "Items": rows[start:start + size]})

    def _list_organizations(self, request: SandboxRequest) -> SandboxResponse:
        rows = _search(self.store.table("organizations").rows(), request, ("Name",))
        return self._page(request, rows)

    def _list_tenants(self, request: SandboxRequest) -> SandboxResponse:
        rows = self.tenants.rows()
        org = _opt_int(request, "OrganizationId")
        if org is not None:
            rows = [r for r in rows if r.get("Organization", {}).get("Id") == org]
        for name in ("Domain", "DomainPrefix"):
            value = request.arg(name, case_insensitive=True)
            if value:
                rows = [r for r in rows if str(r.get(name, "")).lower() == value.lower()]
        rows = _search(rows, request, ("Name", "Domain", "Reference"))
        return self._page(request, sorted(rows, key=lambda r: r["Id"]))

    def _tenant_detailed(self, request: SandboxRequest) -> SandboxResponse:
        tenant = self.tenants.get(int(request.params["id"]))
        if tenant is None:
            return self._error(404, "404 NotFound", f"No customer tenant with id {request.params['id']}")
        user = {"UserName": f"admin@{tenant['Domain']}", "Password": None}
        return json_response(200, {"Tenant": tenant, "User": user,
                                   "Profile": {"CultureCode": "en-US", "LanguageCode": "en"},
                                   "Company": {"OrganizationRegistrationNumber": None}})

    def _list_subscriptions(self, request: SandboxRequest) -> SandboxResponse:
        rows = self.subscriptions.rows()
        for name, parent in (("OrganizationId", "Organization"), ("CustomerTenantId", "CustomerTenant")):
            wanted = _opt_int(request, name)
            if wanted is not None:
                rows = [r for r in rows if r.get(parent, {}).get("Id") == wanted]
        statuses = _opt_int(request, "Statuses")
        if statuses:  # a flags enum: Active 1, Suspended 2, Deleted 4, ...
            rows = [r for r in rows if r.get("Status", 0) & statuses]
        rows = _search(rows, request, ("Name", "PartNumber"))
        return self._page(request, [records.subscription_summary(r) for r in sorted(rows, key=lambda r: r["Id"])])

    def _list_products(self, request: SandboxRequest) -> SandboxResponse:
        rows = [r for r in self.products.rows() if not r["ProductVariant"].get("DeleteDate")]
        part_numbers = _multi_arg(request, "Include.PartNumbers")
        if part_numbers:
            rows = [r for r in rows if r["ProductVariant"]["PartNumber"] in part_numbers]
        rows = _search(rows, request, ("Name",))
        return self._page(request, sorted(rows, key=lambda r: r["PriceId"]))

    def _list_statements(self, request: SandboxRequest) -> SandboxResponse:
        rows = self.statements.rows()
        for name, key in (("OrganizationId", "Organization"), ("InvoiceProfileId", "InvoiceProfile")):
            wanted = _opt_int(request, name)
            if wanted is not None:
                rows = [r for r in rows if r[key]["Id"] == wanted]
        provision = _opt_int(request, "ProvisionType")
        if provision:
            rows = [r for r in rows if r["ProvisionType"] == provision]
        start, end = _date_arg(request, "From"), _date_arg(request, "To")
        if start:
            rows = [r for r in rows if r["EndDate"][:10] >= start]
        if end:
            rows = [r for r in rows if r["StartDate"][:10] <= end]
        return self._page(request, sorted(rows, key=lambda r: r["Id"], reverse=True))

    def statement_lines(self, statement_id: int) -> list[dict[str, Any]]:
        return sorted(self.lines.find(lambda r: r["BillingStatementId"] == statement_id), key=lambda r: r["Id"])

    def _records_file(self, request: SandboxRequest) -> SandboxResponse:
        statement_id = int(request.params["id"])
        if self.statements.get(statement_id) is None:
            return self._error(404, "404 NotFound", f"No billing statement with id {statement_id}")
        data = json.dumps(self.statement_lines(statement_id), separators=(",", ":")).encode()
        return json_response(200, {"FileName": f"BillingRecords_{statement_id}.json",
                                   "Data": base64.b64encode(data).decode()})

    def _reconciliation_file(self, request: SandboxRequest) -> SandboxResponse:
        statement_id = int(request.params["id"])
        if self.statements.get(statement_id) is None:
            return self._error(404, "404 NotFound", f"No billing statement with id {statement_id}")
        data = reconciliation_csv(self.statement_lines(statement_id)).encode("utf-8-sig")
        return json_response(200, {"FileName": f"Reconciliation_{statement_id}.csv",
                                   "Data": base64.b64encode(data).decode()})

    # -- writes (NCE purchases and seat changes through the API) -----------------------------
    def _create_subscription(self, request: SandboxRequest) -> SandboxResponse:
        return api_purchase(self, _json_body(request))

    def _update_subscription(self, request: SandboxRequest) -> SandboxResponse:
        return api_update(self, int(request.params["id"]), _json_body(request))


# -- small parsing helpers ------------------------------------------------------------------------
def _token_error(error: str) -> SandboxResponse:
    return json_response(400, {**dict.fromkeys(TOKEN_FIELDS), "Error": error, "ExpiresIn": 0})


def folded(value: Any) -> Any:
    """JSON with every property name lower-cased: a body read the way ASP.NET binds it (case-insensitively)."""
    if isinstance(value, dict):
        return {str(k).lower(): folded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [folded(v) for v in value]
    return value


def _json_body(request: SandboxRequest) -> dict[str, Any]:
    """The request body as a JSON object with lower-cased property names (case-insensitive binding)."""
    try:
        body = request.json()
    except ValueError as exc:
        raise BadRequest("The request body is not valid JSON", {"Body": str(exc)}) from exc
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object", {"Body": "A non-empty object is required."})
    return folded(body)  # type: ignore[no-any-return]


def _invalid(name: str, raw: str) -> BadRequest:
    return BadRequest(f"The value '{raw}' is not valid for {name}.", {name: f"The value '{raw}' is not valid."})


def _int_arg(request: SandboxRequest, name: str, default: int) -> int:
    value = _opt_int(request, name)
    return default if value is None else value


def _opt_int(request: SandboxRequest, name: str) -> int | None:
    raw = request.arg(name, case_insensitive=True)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise _invalid(name, raw) from None


def _date_arg(request: SandboxRequest, name: str) -> str | None:
    raw = request.arg(name, case_insensitive=True)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        raise _invalid(name, raw) from None


def _multi_arg(request: SandboxRequest, name: str) -> set[str]:
    return {v for key, values in request.query.items() if key.lower() == name.lower() for v in values if v}


def _search(rows: list[dict[str, Any]], request: SandboxRequest, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    term = (request.arg("Search", case_insensitive=True) or "").lower()
    if not term:
        return rows
    return [r for r in rows if any(term in str(r.get(f) or "").lower() for f in fields)]


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def _form(text: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _months_back(today: date, months: int) -> date:
    return add_months(month_start(today), -months)
