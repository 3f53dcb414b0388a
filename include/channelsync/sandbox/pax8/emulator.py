"""Pax8 partner API under ``/pax8`` (docs/vendors/pax8.md §4.1; specs/pax8-partner.openapi.json,
pax8-auth.openapi.json).

- Token: ``POST /pax8/v1/token`` (the auth spec's path) and ``POST /pax8/oauth/token`` (token-manager's),
  JSON ``{client_id, client_secret, audience, grant_type: client_credentials}`` →
  ``{access_token, expires_in: 86400, token_type: Bearer}`` (lifetime on the sandbox clock). Wrong
  credentials: 401 ``{error: access_denied, error_description: Unauthorized}``; malformed: 400
  ``invalid_request``; an audience other than the partner ones (``https://api.pax8.com``,
  ``api://p8p.client``): 403 ``access_denied`` (the identity provider's answer, assumption).
- API under ``/pax8/v1``; errors in the spec's ``Error`` shape ``{type, message, instance, status, details}``.
- Paging: ``page`` 0-based (default 0), ``size`` default 10, max 200 → ``{content, page{size,
  totalElements, totalPages, number}}``. Out-of-range values are clamped, not refused (Spring Data's
  pageable resolver; assumption).
- Rate limit: ``limit`` requests per ``window_seconds`` (sandbox clock) per application, default
  1,000 per minute (the only public figure, unverified); over it: 429 with ``Retry-After`` (whole
  seconds to the end of the window). ``POST /_sandbox/pax8/limits {"limit": n, "window_seconds": s}``;
  ``limit`` 0 switches it off.
"""

from __future__ import annotations

import math
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from channelsync.sandbox import demo_credentials
from channelsync.sandbox.billing import BillingBook, add_months, billing_mix, month_start, usage_amount
from channelsync.sandbox.framework import (
    Emulator,
    MethodNotAllowed,
    RouteNotFound,
    Router,
    SandboxRequest,
    SandboxResponse,
    json_response,
)
from channelsync.sandbox.pax8 import records
from channelsync.sandbox.pax8.control import Unprocessable, create_order, handle_control, publish_next
from channelsync.sandbox.world import CloudOffer, Customer

TOKEN_LIFETIME = 86400
PARTNER_AUDIENCES = ("https://api.pax8.com", "api://p8p.client")
KNOWN_AUDIENCES = (*PARTNER_AUDIENCES, "api://provisioning", "api://usage")
HISTORY_MONTHS = 3
MAX_PAGE_SIZE = 200
STATUS_TEXT = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
               422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
               502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class Pax8Emulator(Emulator):
    system: ClassVar[str] = "pax8"

    def reset(self) -> None:
        self.store.clear()
        self.tokens: dict[str, datetime] = {}
        self.limit, self.window_seconds = 1000, 60.0
        self._window_start: datetime | None = None
        self._window_count = 0
        self.router = self._routes()
        world = self.context.world
        seed = world.seed
        self.companies = self.store.table("companies")
        self.products = self.store.table("products")
        self.pricing = self.store.table("pricing", id_field="key")
        self.subscriptions = self.store.table("subscriptions")
        self.orders = self.store.table("orders")
        self.invoices = self.store.table("invoices")
        self.items = self.store.table("invoiceitems")
        self.offers: dict[str, CloudOffer] = {o.nce_id: o for o in world.offers}
        self.product_of_offer: dict[str, str] = {}
        for index, offer in enumerate(world.offers):
            product_id = records.stable_uuid(seed, f"product:{offer.product_id}:{offer.sku_id}")
            self.product_of_offer[offer.nce_id] = product_id
            if self.products.get(product_id) is None:
                self.products.insert(records.product_record(product_id, offer, index // 3 + 1))
            self.pricing.insert({"key": offer.nce_id, **records.pricing_record(product_id, offer, offer.unit_cost,
                                                                                offer.rrp)})
        today = self.context.clock.now().date()
        self.book = BillingBook(world.offers, style="delta",
                                next_month=add_months(month_start(today), -HISTORY_MONTHS),
                                usage=lambda key, month: usage_amount(seed, f"pax8:{key}", month))
        self.customer_of_company: dict[str, str] = {}
        self.one_time_products: dict[str, dict[str, Any]] = {}  # sold once; not in the catalog (assumption)
        mine = {c.index: c for c in world.customers if c.billing_distributor == "pax8"}
        for customer in mine.values():
            self.add_company(customer, records.stable_uuid(seed, f"company:{customer.key}"))
        seats = [s for s in world.seat_subscriptions if s.customer_index in mine]
        first_month = self.book.next_month
        for seat in billing_mix(seats, world.offers, list(mine.values()), first_month=first_month,
                                renew_month=month_start(today), seed=seed, tag="pax8"):
            owner = mine[seat.customer_index]
            company_id = records.stable_uuid(seed, f"company:{owner.key}")
            sub_id = records.stable_uuid(seed, f"subscription:{seat.subscription_id}")
            self.add_subscription(sub_id, company_id, seat.offer.nce_id, seat.quantity, seat.start,
                                  seat.subscription_id)
            self.book.add_existing(sub_id, owner.key, seat.offer, seat.quantity, seat.start)
        for _ in range(HISTORY_MONTHS):
            publish_next(self)

    def add_company(self, customer: Customer, company_id: str) -> dict[str, Any]:
        updated = datetime.combine(date(2024, 1, 1), datetime.min.time())
        record = self.companies.insert(records.company_record(company_id, customer, updated))
        self.customer_of_company[company_id] = customer.key
        return record

    def add_subscription(self, sub_id: str, company_id: str, nce_id: str, quantity: int, start: date,
                         vendor_sub_id: str) -> dict[str, Any]:
        offer = self.offers[nce_id]
        rate = self.pricing.get(nce_id)["rates"][0]  # type: ignore[index]
        factor = 12 if offer.billing_cycle == "Annual" else 1
        unit, rrp = Decimal(str(rate["partnerBuyRate"])) / factor, Decimal(str(rate["suggestedRetailPrice"])) / factor
        return self.subscriptions.insert(records.subscription_record(
            sub_id, company_id, self.product_of_offer[nce_id], offer, quantity, start, vendor_sub_id, unit, rrp,
            self.context.world.seed,
        ))

    # -- request handling ----------------------------------------------------------------------
    def _routes(self) -> Router:
        router = Router()
        router.add("POST", "/v1/token", self._token)
        router.add("POST", "/oauth/token", self._token)
        router.add("GET", "/v1/companies", self._list(lambda: self.companies, ("city", "stateOrProvince",
                                                                                "postalCode", "country", "status")))
        router.add("GET", "/v1/companies/{id}", self._get(lambda: self.companies, "Company"))
        router.add("GET", "/v1/products", self._list_products)
        router.add("GET", "/v1/products/{id}", self._get(lambda: self.products, "Product"))
        router.add("GET", "/v1/products/{id}/pricing", self._product_pricing)
        router.add("GET", "/v1/products/{id}/dependencies", self._product_dependencies)
        router.add("GET", "/v1/subscriptions", self._list(lambda: self.subscriptions,
                                                          ("status", "billingTerm", "companyId", "productId")))
        router.add("GET", "/v1/subscriptions/{id}", self._get(lambda: self.subscriptions, "Subscription"))
        router.add("GET", "/v1/orders", self._list(lambda: self.orders, ("companyId",)))
        router.add("POST", "/v1/orders", self._create_order)
        router.add("GET", "/v1/orders/{id}", self._get(lambda: self.orders, "Order"))
        router.add("GET", "/v1/invoices", self._list_invoices)
        router.add("GET", "/v1/invoices/{id}", self._get(lambda: self.invoices, "Invoice"))
        router.add("GET", "/v1/invoices/{id}/items", self._invoice_items)
        return router

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        try:
            handler = self.router.match(request)
        except RouteNotFound:
            return self.error(404, "No endpoint matches the path", request.path)
        except MethodNotAllowed as exc:
            return self.error(405, f"{request.method} is not supported; use {exc}", request.path)
        if handler == self._token:
            return handler(request)
        if not self._authorized(request):
            return self.error(401, "Unauthorized", request.path)
        limited = self._rate_limited()
        if limited is not None:
            return limited
        try:
            return handler(request)
        except Unprocessable as exc:
            return self.error(422, str(exc), request.path, exc.details)

    def control(self, request: SandboxRequest) -> SandboxResponse:
        return handle_control(self, request)

    def error_response(self, status: int, message: str) -> SandboxResponse:
        return self.error(status, message, "")

    def error(self, status: int, message: str, instance: str,
              details: list[dict[str, Any]] | None = None) -> SandboxResponse:
        body = {"type": STATUS_TEXT.get(status, "Error"), "message": message, "instance": instance,
                "status": status, "details": details or []}
        return json_response(status, body)

    # -- auth and limits -----------------------------------------------------------------------
    def _token(self, request: SandboxRequest) -> SandboxResponse:
        try:
            body = request.json()
        except ValueError:
            return json_response(400, {"error": "invalid_request", "error_description": "Malformed JSON body"})
        if not isinstance(body, dict):
            return json_response(400, {"error": "invalid_request", "error_description": "A JSON object is required"})
        fields = ("client_id", "client_secret", "audience", "grant_type")
        missing = [k for k in fields if not isinstance(body.get(k), str)]
        if missing:
            return json_response(400, {"error": "invalid_request",
                                       "error_description": f"Missing or invalid: {', '.join(missing)}"})
        if body["grant_type"] != "client_credentials":
            return json_response(403, {"error": "unauthorized_client",
                                       "error_description": "Grant type not allowed for the client."})
        creds = demo_credentials.PAX8
        if (body["client_id"], body["client_secret"]) != (creds["client_id"], creds["client_secret"]):
            return json_response(401, {"error": "access_denied", "error_description": "Unauthorized"})
        if body["audience"] not in PARTNER_AUDIENCES:
            return json_response(403, {"error": "access_denied",
                                       "error_description": f"Service not enabled within domain: {body['audience']}"})
        token = secrets.token_urlsafe(40)
        self.tokens[token] = self.context.clock.now() + timedelta(seconds=TOKEN_LIFETIME)
        return json_response(200, {"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"})

    def _authorized(self, request: SandboxRequest) -> bool:
        header = request.headers.get("Authorization") or ""
        if not header.lower().startswith("bearer "):
            return False
        expiry = self.tokens.get(header[7:].strip())
        return expiry is not None and expiry > self.context.clock.now()

    def _rate_limited(self) -> SandboxResponse | None:
        if self.limit <= 0:  # 0 switches the limiter off (benchmarks)
            return None
        now = self.context.clock.now()
        window = timedelta(seconds=self.window_seconds)
        if self._window_start is None or now >= self._window_start + window:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        if self._window_count <= self.limit:
            return None
        remaining = (self._window_start + window - now).total_seconds()
        response = self.error(429, f"Rate limit of {self.limit} requests per {self.window_seconds:g} s exceeded", "")
        response.headers["Retry-After"] = str(max(1, math.ceil(remaining)))
        return response

    # -- reads ---------------------------------------------------------------------------------
    def page(self, request: SandboxRequest, rows: list[dict[str, Any]]) -> SandboxResponse:
        number = max(0, _int(request.arg("page"), 0))
        size = _int(request.arg("size"), 10)
        size = 10 if size < 1 else min(size, MAX_PAGE_SIZE)
        total = len(rows)
        content = rows[number * size:(number + 1) * size]
        return json_response(200, {"content": content, "page": {"size": size, "totalElements": total,
                                                                 "totalPages": math.ceil(total / size),
                                                                 "number": number}})

    def _list(self, table: Any, filters: tuple[str, ...]) -> Any:
        def handler(request: SandboxRequest) -> SandboxResponse:
            rows = table().rows()
            for name in filters:
                wanted = request.arg(name)
                if wanted:
                    rows = [r for r in rows if _field(r, name).lower() == wanted.lower()]
            return self.page(request, _sorted(rows, request.arg("sort")))
        return handler

    def _get(self, table: Any, kind: str) -> Any:
        def handler(request: SandboxRequest) -> SandboxResponse:
            row = table().get(request.params["id"])
            if row is None:
                return self.error(404, f"{kind} not found", request.path)
            return json_response(200, row)
        return handler

    def _list_products(self, request: SandboxRequest) -> SandboxResponse:
        rows = [{k: v for k, v in r.items() if k != "description"} for r in self.products.rows()]
        vendor, search = request.arg("vendorName"), (request.arg("search") or "").lower()
        if vendor:
            rows = [r for r in rows if r["vendorName"].lower() == vendor.lower()]
        if search:
            rows = [r for r in rows if search in r["name"].lower() or search in r["vendorSku"].lower()]
        return self.page(request, _sorted(rows, request.arg("sort") or "name"))

    def _product_pricing(self, request: SandboxRequest) -> SandboxResponse:
        product_id = request.params["id"]
        if self.products.get(product_id) is None:
            return self.error(404, "Product not found", request.path)
        content = [{k: v for k, v in r.items() if k != "key"} for r in self.pricing.rows()
                   if r["productId"] == product_id and not r.get("retired")]
        content = [{k: v for k, v in r.items() if k != "retired"} for r in content]
        return json_response(200, {"content": content})

    def _product_dependencies(self, request: SandboxRequest) -> SandboxResponse:
        product = self.products.get(request.params["id"])
        if product is None:
            return self.error(404, "Product not found", request.path)
        terms = sorted({p["commitmentTerm"] for p in self.pricing.rows()
                        if p["productId"] == product["id"] and p.get("commitmentTerm")})
        seed = self.context.world.seed
        commitments = [{
            "id": records.stable_uuid(seed, f"commitment:{term}"), "term": term, "autoRenew": True,
            "renewalWindowDaysBeforeTermEnd": 0, "renewalWindowDaysAfterTermEnd": 7,
            "allowForQuantityIncrease": True, "allowForQuantityDecrease": term == "1-Month",
            "allowForEarlyCancellation": False, "cancellationFeeApplied": False, "isTransferable": True,
        } for term in terms]
        return json_response(200, {"commitmentDependencies": commitments, "productDependencies": []})

    def _list_invoices(self, request: SandboxRequest) -> SandboxResponse:
        rows = self.invoices.rows()
        company = request.arg("companyId")
        if company:
            ids = {item["invoiceId"] for item in self.items.rows() if item["companyId"] == company}
            rows = [r for r in rows if r["id"] in ids]
        status = request.arg("status")
        if status:
            rows = [r for r in rows if r["status"].lower() == status.lower()]
        return self.page(request, _sorted(rows, request.arg("sort") or "invoiceDate,desc"))

    def invoice_items(self, invoice_id: str) -> list[dict[str, Any]]:
        rows = [r for r in self.items.rows() if r["invoiceId"] == invoice_id]
        return [{k: v for k, v in r.items() if k not in ("invoiceId", "seq")}
                for r in sorted(rows, key=lambda r: r["seq"])]

    def _invoice_items(self, request: SandboxRequest) -> SandboxResponse:
        invoice_id = request.params["id"]
        if self.invoices.get(invoice_id) is None:
            return self.error(404, "Invoice not found", request.path)
        return self.page(request, self.invoice_items(invoice_id))

    def _create_order(self, request: SandboxRequest) -> SandboxResponse:
        try:
            body = request.json()
        except ValueError as exc:
            return self.error(400, "Malformed JSON request body", request.path, [{"message": str(exc)}])
        return create_order(self, body, is_mock=(request.arg("isMock") or "").lower() == "true")


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw not in (None, "") else default  # type: ignore[arg-type]
    except ValueError:
        return default  # Spring's pageable resolver falls back to the default (assumption)


def _field(row: dict[str, Any], name: str) -> str:
    if name in ("city", "stateOrProvince", "postalCode", "country"):
        return str(row.get("address", {}).get(name, ""))
    return str(row.get(name, ""))


def _sorted(rows: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    """``sort=field,dir``; stable tie-break on ``id`` so pages never overlap."""
    rows = sorted(rows, key=lambda r: str(r.get("id", "")))
    if not sort:
        return rows
    field, _, direction = sort.partition(",")
    return sorted(rows, key=lambda r: str(_field(r, field)), reverse=direction.lower() == "desc")
