"""The TD SYNNEX emulator: one prefix, three surfaces.

- ``/tdsynnex/ion/...``: StreamOne Ion v3 (``/ion/oauth/token``, ``/ion/api/v3/accounts/{accountId}/...``);
- ``/tdsynnex/xml/SynnexXML/{PriceAvailability,Availability,PO,POStatus}``: the classic XML services, and
  ``/tdsynnex/xml/webservice/invoice/query``: the invoice query web service (``xml_invoice``; the real one
  is on its own host, ``ws.us.tdsynnex.com``);
- ``/tdsynnex/ftp/``: the daily flat file and ``category_list.txt`` (see ``flatfile``).

Tables (control API ``/_sandbox/records/tdsynnex/<table>``): ``products`` (hardware, key synnexSKU),
``po_orders`` (XML POs, key PONumber), ``po_duplicates`` (refused resubmissions of a known PO number),
``ion_customers``, ``ion_products``, ``ion_subscriptions``,
``ion_orders``, ``refresh_tokens``, ``access_tokens``.
Controls: ``POST /_sandbox/tdsynnex/orders/{po}/{accept|ship|backorder|cancel|invoice}`` (JSON body:
``lines``, ``quantity``, ``tracking``, ``serials``, ``shipMethod``, ``warehouse``, ``eta``; ``invoice: true``
on ``ship`` invoices the shipment at once; a move the order's state does not allow answers 409) and
``POST /_sandbox/tdsynnex/ion/orders/{orderId}/{status}``.
"""

from __future__ import annotations

import base64
import itertools
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from channelsync.sandbox import demo_credentials
from channelsync.sandbox.framework import (
    Emulator,
    MethodNotAllowed,
    RouteNotFound,
    Router,
    SandboxRequest,
    SandboxResponse,
    json_response,
    text_response,
)
from channelsync.sandbox.store import RecordStore
from channelsync.sandbox.tdsynnex import flatfile, ion_accounts, ion_auth, ion_catalog, ion_orders
from channelsync.sandbox.tdsynnex.catalog import CatalogIndex, product_records
from channelsync.sandbox.tdsynnex.ion_common import IonError, envelope, not_found
from channelsync.sandbox.tdsynnex.keys import StrKeyStore
from channelsync.sandbox.tdsynnex.xml_common import b2b_error
from channelsync.sandbox.tdsynnex.xml_invoice import handle_invoice_query
from channelsync.sandbox.tdsynnex.xml_pna import handle_pna
from channelsync.sandbox.tdsynnex.xml_po import handle_po
from channelsync.sandbox.tdsynnex.xml_po_status import apply_action, handle_po_status
from channelsync.sandbox.world import CATEGORIES

ACCOUNT = "/ion/api/v3/accounts/{accountId}"


class TdSynnexEmulator(Emulator):
    system: ClassVar[str] = "tdsynnex"

    def _new_store(self) -> RecordStore:
        return StrKeyStore()

    def reset(self) -> None:
        self.store.clear()
        world, now = self.context.world, self.context.clock.now()
        self.ion_account = demo_credentials.TDSYNNEX_ION["account_id"]
        self.xml_credentials = {
            "customer_number": demo_credentials.TDSYNNEX_XML["customer_number"],
            "username": demo_credentials.TDSYNNEX_XML["username"],
            "password": demo_credentials.TDSYNNEX_XML["password"],
        }
        products = self.store.table("products", id_field="synnexSKU")
        for record in product_records(world):
            products.insert(record)
        self.catalog = CatalogIndex(products)
        self.po_orders = self.store.table("po_orders", id_field="PONumber")
        self.po_duplicates = self.store.table("po_duplicates")  # refused resubmissions of a known PO number
        self.refresh_tokens = self.store.table("refresh_tokens", id_field="token")
        self.access_tokens = self.store.table("access_tokens", id_field="token")
        ion_auth.seed_refresh_token(self.refresh_tokens, demo_credentials.TDSYNNEX_ION["refresh_token"],
                                    self.ion_account, now)
        self.ion_products_table = self.store.table("ion_products")
        for product in ion_catalog.product_records(self.ion_account, world.offers):
            self.ion_products_table.insert(product)
        self.ion_customers = self.store.table("ion_customers", id_field="_id")
        for customer in ion_accounts.customer_records(self.ion_account, world):
            self.ion_customers.insert(customer)
        self.ion_subscriptions = self.store.table("ion_subscriptions")
        for sub in ion_accounts.subscription_records(self.ion_account, world, self.ion_products):
            self.ion_subscriptions.insert(sub)
        self.ion_orders = self.store.table("ion_orders", id_field="orderId", first_id=3001)
        ion_orders.seed_orders(self.ion_account, {c["_id"]: c for c in self.ion_customers.rows()},
                               self.ion_subscriptions.rows(), self.ion_orders)
        self._order_numbers = itertools.count(16351210)
        self._invoice_numbers = itertools.count(91000001)
        self._flat_cache: tuple[int, bytes] | None = None
        self._flat_revision = 0
        self._flat_extra: list[bytes] = []  # raw rows appended through the control API
        self._lock = threading.Lock()
        self.router = self._routes()

    # --- routing ----------------------------------------------------------------------------------

    def _routes(self) -> Router:
        router = Router()
        add = router.add
        add("POST", "/ion/oauth/token", self._token)
        add("POST", "/ion/oauth/validateAccess", self._validate)
        add("GET", ACCOUNT + "/products", self._ion(lambda r: ion_catalog.list_products(r, self.ion_products)))
        add("POST", ACCOUNT + "/products:pricing", self._ion(lambda r: ion_catalog.pricing(r, self.ion_products)))
        add("GET", ACCOUNT + "/products/{productId}",
            self._ion(lambda r: ion_catalog.get_product(self.ion_account, r.params["productId"], self.ion_products)))
        add("GET", ACCOUNT + "/customers",
            self._ion(lambda r: ion_accounts.list_customers(r, self.ion_customers.rows())))
        add("GET", ACCOUNT + "/customers/{customerId}", self._ion(lambda r: ion_accounts.wire(self._customer(r))))
        add("GET", ACCOUNT + "/customers/{customerId}/cloudProfiles",
            self._ion(lambda r: ion_accounts.cloud_profiles(self._customer(r))))
        add("GET", ACCOUNT + "/subscriptions", self._ion(self._subscriptions))
        add("GET", ACCOUNT + "/customers/{customerId}/subscriptions/{subId}", self._ion(self._subscription))
        add("POST", ACCOUNT + "/customers/{customerId}/orders/{orderId}:cancel", self._ion(self._cancel_order))
        add("GET", ACCOUNT + "/customers/{customerId}/orders", self._ion(self._list_orders))
        add("POST", ACCOUNT + "/customers/{customerId}/orders", self._ion(self._create_order))
        add("GET", ACCOUNT + "/customers/{customerId}/orders/{orderId}", self._ion(self._get_order))
        add("GET", ACCOUNT + "/orders", self._ion(self._list_orders))
        add("GET", ACCOUNT + "/reports", self._ion(lambda r: ion_orders.list_reports()))
        add("POST", ACCOUNT + "/reports/{reportId}/reportDataCsv", self._ion(
            lambda r: ion_orders.report_csv(r, r.params["reportId"], self._all_subscriptions(), self._now())))
        add("POST", "/xml/SynnexXML/PriceAvailability", lambda r: self._pna(r, with_price=True))
        add("POST", "/xml/SynnexXML/Availability", lambda r: self._pna(r, with_price=False))
        add("POST", "/xml/SynnexXML/PO", self._po)
        add("POST", "/xml/SynnexXML/POStatus", self._po_status)
        add("POST", "/xml/webservice/invoice/query", self._invoice_query)
        add(["GET", "HEAD"], "/ftp", self._ftp_list)
        add(["GET", "HEAD"], "/ftp/{name}", self._ftp_file)
        return router

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        try:
            return self.router.match(request)(request)
        except (RouteNotFound, MethodNotAllowed) as exc:
            if request.path.startswith("/xml/"):
                return b2b_error("Response", "Client.InvalidRequest", f"No XML service at {request.path}")
            if isinstance(exc, MethodNotAllowed):
                return envelope(405, "METHOD_NOT_ALLOWED", f"method {request.method} not allowed")
            return envelope(404, "NOT_FOUND", f"resource '{request.path}' not found")

    def error_response(self, status: int, message: str) -> SandboxResponse:
        # Injected faults answer in the Ion envelope: the XML front ends' own 5xx pages are not documented.
        name = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL_ERROR", 503: "UNAVAILABLE"}.get(status, "UNKNOWN")
        return envelope(status, name, message)

    def on_direct_edit(self, table: str, record: dict[str, Any]) -> None:
        if table.lower() == "products":
            self.catalog.invalidate()
            with self._lock:
                self._flat_revision += 1

    def _now(self) -> Any:
        return self.context.clock.now()

    # --- Ion ----------------------------------------------------------------------------------------

    def _token(self, request: SandboxRequest) -> SandboxResponse:
        with self._lock:  # rotation must be atomic: two refreshes with one token, one wins
            return ion_auth.issue_token(request, self.refresh_tokens, self.access_tokens, self._now())

    def _validate(self, request: SandboxRequest) -> SandboxResponse:
        return ion_auth.validate_access(request, self.refresh_tokens, self.access_tokens, self._now())

    def _ion(self, handler: Callable[[SandboxRequest], Any]) -> Callable[[SandboxRequest], SandboxResponse]:
        def wrapped(request: SandboxRequest) -> SandboxResponse:
            token = ion_auth.bearer_account(request, self.access_tokens, self._now())
            if token is None:
                return envelope(401, "UNAUTHENTICATED", "missing, invalid or expired access token")
            account = request.params.get("accountId", "")
            if account != token["accountId"]:
                return envelope(403, "PERMISSION_DENIED", f"permission denied to access accounts/{account}")
            try:
                return json_response(200, handler(request))
            except ion_orders.OrderValidation as exc:
                return ion_orders.validation_response(exc.errors)
            except IonError as exc:
                return envelope(exc.status, exc.error, exc.message, **exc.extra_detail)
        return wrapped

    def _customer(self, request: SandboxRequest) -> dict[str, Any]:
        customer = self.ion_customers.get(request.params["customerId"])
        if customer is None:
            raise not_found(f"accounts/{self.ion_account}/customers/{request.params['customerId']}")
        return customer

    @property
    def ion_products(self) -> list[dict[str, Any]]:
        return self.ion_products_table.rows()

    def _all_subscriptions(self) -> list[dict[str, Any]]:
        """Subscriptions after moving every pending order along the clock (orders complete lazily)."""
        rows = _TableList(self.ion_subscriptions, self.ion_subscriptions.rows())
        now = self._now()
        for order in self.ion_orders.rows():
            ion_orders.advance(order, now, rows)
        return list(rows)

    def _subscriptions(self, request: SandboxRequest) -> dict[str, Any]:
        return ion_accounts.list_subscriptions(request, self._all_subscriptions())

    def _subscription(self, request: SandboxRequest) -> dict[str, Any]:
        self._customer(request)
        wanted, customer = request.params["subId"], request.params["customerId"]
        for sub in self._all_subscriptions():
            if sub["customerId"] == customer and wanted in (sub["id"], sub["subscriptionId"]):
                return dict(sub, activityLogs={"totalCount": "1", "items": [{
                    "id": "1", "actionType": "Subscription Created", "actionDate": sub["subscriptionPurchasedDate"],
                    "actionStatus": "SUCCESS", "productId": sub["subscriptionProductId"],
                    "skuId": sub["subscriptionSkuId"],
                    "quantity": sub["subscriptionTotalLicenses"],
                    "actionDetails": f"New Quantity: {sub['subscriptionTotalLicenses']}; Status: active;"}]})
        raise not_found(f"accounts/{self.ion_account}/customers/{customer}/subscriptions/{wanted}")

    def _plans(self) -> dict[str, dict[str, Any]]:
        return {plan["id"]: plan for p in self.ion_products for sku in p["definition"]["skus"] for plan in sku["plans"]}

    def _create_order(self, request: SandboxRequest) -> dict[str, Any]:
        customer = self._customer(request)
        record = ion_orders.create_order(request, self.ion_account, customer["_id"], self.ion_orders,
                                         self._plans(), self._now())
        return ion_orders.wire(record)

    def _get_order(self, request: SandboxRequest) -> dict[str, Any]:
        self._all_subscriptions()
        order = ion_orders.find_order(self.ion_orders, self.ion_account, request.params["customerId"],
                                      request.params["orderId"])
        return ion_orders.wire(order)

    def _cancel_order(self, request: SandboxRequest) -> dict[str, Any]:
        self._all_subscriptions()
        order = ion_orders.find_order(self.ion_orders, self.ion_account, request.params["customerId"],
                                      request.params["orderId"])
        ion_orders.cancel_order(order, self._now())
        return ion_orders.wire(order)

    def _list_orders(self, request: SandboxRequest) -> dict[str, Any]:
        """Account-wide, or one customer's (``-``: every customer, as the spec allows)."""
        self._all_subscriptions()
        customer = request.params.get("customerId")
        if customer == "-":
            customer = None
        elif customer:
            self._customer(request)
        rows = [o for o in self.ion_orders.rows() if not customer or o["customerId"] == customer]
        return ion_orders.list_orders(request, rows, self.ion_account)

    # --- XML ----------------------------------------------------------------------------------------

    def _pna(self, request: SandboxRequest, *, with_price: bool) -> SandboxResponse:
        return handle_pna(request.body, self.catalog, self.xml_credentials, self._now(), with_price=with_price)

    def _po(self, request: SandboxRequest) -> SandboxResponse:
        with self._lock:  # the duplicate-PO check and the insert are one step
            return handle_po(request.body, self.po_orders, self.catalog, self.xml_credentials, self._now(),
                             next(self._order_numbers), self.po_duplicates)

    def _po_status(self, request: SandboxRequest) -> SandboxResponse:
        return handle_po_status(request.body, self.po_orders, self.xml_credentials, self._now())

    def _invoice_query(self, request: SandboxRequest) -> SandboxResponse:
        with self._lock:  # invoices are appended under the lock (control actions)
            return handle_invoice_query(request.body, self.po_orders, self.xml_credentials)

    # --- FTP stand-in -------------------------------------------------------------------------------

    def _ftp_authorized(self, request: SandboxRequest) -> bool:
        header = request.headers.get("authorization", "") or ""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except ValueError:
            return False
        return (user, password) == (self.xml_credentials["username"], self.xml_credentials["password"])

    def _ftp_denied(self) -> SandboxResponse:
        # What an FTP server says to a bad login, carried in an HTTP 401.
        return text_response(401, "530 Login incorrect.\r\n", headers={"WWW-Authenticate": 'Basic realm="ftp"'})

    def _flat_name(self) -> str:
        return f"c{self.xml_credentials['customer_number']}.zip"

    def _ftp_list(self, request: SandboxRequest) -> SandboxResponse:
        if not self._ftp_authorized(request):
            return self._ftp_denied()
        return text_response(200, f"{self._flat_name()}\r\ncategory_list.txt\r\n")

    def _ftp_file(self, request: SandboxRequest) -> SandboxResponse:
        if not self._ftp_authorized(request):
            return self._ftp_denied()
        name = request.params["name"]
        if name == "category_list.txt":
            return SandboxResponse(200, flatfile.render_category_list(CATEGORIES),
                                   {"Content-Type": f"text/plain; charset={flatfile.ENCODING}"})
        if name.lower() != self._flat_name():
            return text_response(404, f"550 {name}: No such file or directory.\r\n")
        with self._lock:
            cached = self._flat_cache
            if cached is None or cached[0] != self._flat_revision:
                data = flatfile.render_zip(self.xml_credentials["customer_number"], self.catalog.table.rows(),
                                           b"".join(self._flat_extra))
                cached = self._flat_cache = (self._flat_revision, data)
        return SandboxResponse(200, cached[1], {"Content-Type": "application/zip"})

    # --- control ------------------------------------------------------------------------------------

    def control(self, request: SandboxRequest) -> SandboxResponse:
        parts = [p for p in request.path.split("/") if p]
        body = request.json() or {}
        if parts == ["flatfile", "rows"] and request.method == "POST":
            return self._append_flat_rows(body)
        if len(parts) == 3 and parts[0] == "orders" and request.method == "POST":
            with self._lock:
                record = self.po_orders.get(parts[1])
                if record is None:
                    return json_response(404, {"error": f"no PO {parts[1]}"})
                try:
                    result = apply_action(record, parts[2], body, self.catalog, self._now(),
                                          lambda: next(self._invoice_numbers))
                except ValueError as exc:
                    return json_response(409, {"error": str(exc)})
            return json_response(200, {"order": record, "result": result})
        if len(parts) == 4 and parts[:2] == ["ion", "orders"] and request.method == "POST":
            order = self.ion_orders.get(parts[2])
            if order is None:
                return json_response(404, {"error": f"no Ion order {parts[2]}"})
            subs = _TableList(self.ion_subscriptions, self.ion_subscriptions.rows())
            ion_orders.set_status(order, parts[3].upper(), subs, self._now())
            return json_response(200, ion_orders.wire(order))
        return json_response(404, {"error": f"no control endpoint {request.path} for tdsynnex"})


    def _append_flat_rows(self, body: dict[str, Any]) -> SandboxResponse:
        """Append raw detail rows to today's file, to test bad vendor data: ``{"rows": [{col: value}],
        "encoding": "cp1252"}``; a value may be ``{"hex": "..."}`` for bytes no encoding produces."""
        number = self.xml_credentials["customer_number"]
        encoding = str(body.get("encoding") or flatfile.ENCODING)
        added = []
        for values in body.get("rows") or []:
            cells = flatfile.raw_row(number, {k: v for k, v in values.items() if isinstance(v, str)})
            line = flatfile.DELIMITER.join(cells).encode(encoding, errors="replace")
            for name, value in values.items():  # raw bytes replace a placeholder cell
                if isinstance(value, dict) and "hex" in value:
                    cells_bytes = line.split(flatfile.DELIMITER.encode())
                    cells_bytes[flatfile.COL[name]] = bytes.fromhex(value["hex"])
                    line = flatfile.DELIMITER.encode().join(cells_bytes)
            added.append(line + b"\r\n")
        with self._lock:
            self._flat_extra.extend(added)
            self._flat_revision += 1
        return json_response(200, {"appended": len(added)})


class _TableList(list):  # type: ignore[type-arg]
    """A list of subscription rows whose ``append`` also inserts into the table."""

    def __init__(self, table: Any, rows: list[dict[str, Any]]) -> None:
        super().__init__(rows)
        self.table = table

    def append(self, row: dict[str, Any]) -> None:
        super().append(row)
        self.table.insert(row)
