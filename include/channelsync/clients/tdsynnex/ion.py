"""StreamOne Ion v3 client: refresh-token rotation, catalog, pricing, customers, subscriptions,
orders and reports.

Token rotation: the refresh token is read from an injected :class:`TokenStore`; the new refresh
token of every refresh is ``put`` into the store *before* the access token is used, so a crash can
never lose the only valid token. A 401 on a bearer call refreshes once and retries.
Paging is hidden: ``pageToken`` lists (products, customers, orders) and offset lists
(subscriptions) are iterated to the end with loop detection.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import requests

from channelsync.clients.http import (
    IDEMPOTENT_METHODS,
    HttpTransport,
    PageLoopGuard,
    RetryPolicy,
    parse_retry_after,
)
from channelsync.clients.payload import (
    error_body,
    expect_int,
    expect_object,
    expect_records,
    expect_seconds,
    expect_text,
    json_body,
)
from channelsync.clients.tdsynnex.codes import (
    TDS_AUTH_FAILED,
    TDS_ION_INVALID_REQUEST,
    TDS_ION_NOT_FOUND,
    TDS_ION_PRECONDITION,
    TDS_ION_VALIDATION,
    TDS_PERMISSION_DENIED,
    TDS_RATE_LIMITED,
    TDS_SERVER_ERROR,
    TDS_TOKEN_MISSING,
    TDS_TOKEN_REUSED,
)
from channelsync.clients.tdsynnex.tokens import TokenStore
from channelsync.errors import ApiError, FatalApiError, OutcomeUnknownError, RetriableApiError, define

SYSTEM = "tdsynnex_ion"
TDS_ION_BAD_RESPONSE = define("TDS_ION_BAD_RESPONSE", "tdsynnex",
                              "Ion answered with a body that is not the JSON the call returns (refused whole)")
_STATUS_CODES = {401: TDS_AUTH_FAILED, 403: TDS_PERMISSION_DENIED, 404: TDS_ION_NOT_FOUND, 412: TDS_ION_PRECONDITION}


def map_ion_error(response: requests.Response) -> ApiError | None:
    """Google-RPC envelope / token-endpoint bodies → coded errors (messages carry no secrets)."""
    body = error_body(response)
    status = response.status_code
    vendor = str(body.get("message") or body.get("error") or response.text[:300])
    common: dict[str, Any] = {"system": SYSTEM, "status": status, "vendor_message": vendor}
    if response.request is not None and str(response.request.url).endswith("/oauth/token") and status == 400:
        return FatalApiError(f"Ion refused the refresh token: {vendor}", code=TDS_TOKEN_REUSED, **common)
    if status == 429:
        return RetriableApiError(f"Ion rate limited the call: {vendor}", code=TDS_RATE_LIMITED,
                                 retry_after=parse_retry_after(response.headers.get("Retry-After")), **common)
    if status >= 500:
        return RetriableApiError(f"Ion server error {status}: {vendor}", code=TDS_SERVER_ERROR,
                                 retry_after=parse_retry_after(response.headers.get("Retry-After")), **common)
    if status == 400 and body.get("code") == 3:
        details = body.get("details")
        errors = [e for d in (details if isinstance(details, list) else []) if isinstance(d, dict)
                  for e in _list(d.get("errors")) if isinstance(e, dict)]
        listed = "; ".join(f"{str(e.get('code', '')).strip()}: {e.get('detail', '')}" for e in errors)
        error = FatalApiError(f"Ion refused the order: {listed or vendor}", code=TDS_ION_VALIDATION, **common)
        error.validation_codes = [str(e.get("code", "")).strip() for e in errors]  # type: ignore[attr-defined]
        return error
    code = _STATUS_CODES.get(status, TDS_ION_INVALID_REQUEST if status == 400 else None)
    if code is None:
        return None
    return FatalApiError(f"Ion answered {status} {body.get('error', '')}: {vendor}", code=code, **common)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class TdSynnexIonClient:
    def __init__(
        self,
        *,
        base_url: str,
        account_id: str,
        token_store: TokenStore,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        page_size: int = 100,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_id = str(account_id)
        self.token_store = token_store
        self.page_size = page_size
        self._clock = clock
        self._access: str | None = None
        self._access_expires = 0.0
        self._lock = threading.Lock()
        self.transport = HttpTransport(system=SYSTEM, session=session, policy=policy, error_mapper=map_ion_error,
                                       code_prefix="TDS", sleep=sleep)

    def __repr__(self) -> str:
        return f"TdSynnexIonClient(base_url={self.base_url!r}, account_id={self.account_id!r})"

    @property
    def tenant_id(self) -> str:
        """``tdsynnex_ion:<account id>``: the StreamOne Ion reseller account."""
        return f"{SYSTEM}:{self.account_id.strip()}"

    # --- auth ---------------------------------------------------------------------------------------

    def _remember_secret(self, *values: str) -> None:
        known = tuple(s for s in self.transport.secrets if s)
        self.transport.secrets = (known + tuple(v for v in values if v))[-8:]

    def refresh(self) -> None:
        """Rotate the refresh token; persist the new one, then keep the access token."""
        refresh_token = self.token_store.get()
        if not refresh_token:
            raise FatalApiError("no Ion refresh token in the token store", code=TDS_TOKEN_MISSING, system=SYSTEM)
        self._remember_secret(refresh_token)
        try:
            response = self.transport.request(
                "POST", f"{self.base_url}/oauth/token", idempotent=False,
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            )
        except OutcomeUnknownError as exc:
            exc.message += " (the refresh token may have rotated without the new one reaching us)"
            raise
        try:
            body = expect_object(json_body(response, system=SYSTEM, code=TDS_ION_BAD_RESPONSE, parse_float=None),
                                 "the token answer", system=SYSTEM, code=TDS_ION_BAD_RESPONSE)
            new_refresh = expect_text(body.get("refresh_token"), "refresh_token", system=SYSTEM,
                                      code=TDS_ION_BAD_RESPONSE, required=True, token=True)
            access = expect_text(body.get("access_token"), "access_token", system=SYSTEM, code=TDS_ION_BAD_RESPONSE,
                                 required=True, token=True)
            lifetime = expect_seconds(body.get("expires_in"), "expires_in", system=SYSTEM, code=TDS_ION_BAD_RESPONSE,
                                      default=7200)
        except FatalApiError as exc:
            exc.message += (" (Ion may have rotated the refresh token without a usable new one: if the next refresh "
                            "is refused, request new OAuth credentials in the portal)")
            raise
        self._remember_secret(new_refresh, access)
        self.token_store.put(new_refresh)  # persisted BEFORE the access token is ever used
        self._access = access
        self._access_expires = self._clock() + lifetime - 60

    def _bearer(self) -> str:
        with self._lock:
            if self._access is None or self._clock() >= self._access_expires:
                self.refresh()
            assert self._access is not None
            return self._access

    def _call(self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any) -> Any:
        url = f"{self.base_url}/api/v3/accounts/{self.account_id}{path}"
        write = not (idempotent if idempotent is not None else method.upper() in IDEMPOTENT_METHODS)
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._bearer()}", "Accept": "application/json"}
            try:
                response = self.transport.request(method, url, idempotent=idempotent, headers=headers, **kwargs)
                return json_body(response, system=SYSTEM, code=TDS_ION_BAD_RESPONSE, parse_float=None, applied=write)
            except FatalApiError as exc:
                if exc.status != 401 or attempt == 2:
                    raise
                with self._lock:
                    self._access = None  # revoked or expired early: refresh once and retry
        raise AssertionError("unreachable")

    def validate_access(self) -> dict[str, Any]:
        """``POST /oauth/validateAccess`` → seconds left on the access and refresh tokens."""
        token = self._bearer()
        response = self.transport.request("POST", f"{self.base_url}/oauth/validateAccess", idempotent=True,
                                          data={"access_token": token})
        return expect_object(json_body(response, system=SYSTEM, code=TDS_ION_BAD_RESPONSE, parse_float=None),
                             "the validateAccess answer", system=SYSTEM, code=TDS_ION_BAD_RESPONSE)

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return expect_object(self._call(method, path, **kwargs), f"the answer to {method} {path}", system=SYSTEM,
                             code=TDS_ION_BAD_RESPONSE)

    def _records(self, body: dict[str, Any], key: str, path: str) -> list[dict[str, Any]]:
        return expect_records(body.get(key), f"{key} of {path}", system=SYSTEM, code=TDS_ION_BAD_RESPONSE)

    def ping(self) -> None:
        self._call("GET", "/customers", params={"pageSize": 1})

    # --- paging ---------------------------------------------------------------------------------------

    def _iter_token_pages(self, path: str, key: str, params: dict[str, Any], page_size: int | None) -> Iterator[Any]:
        guard = PageLoopGuard(SYSTEM)
        query = {k: v for k, v in params.items() if v is not None} | {"pageSize": page_size or self.page_size}
        while True:
            body = self._object("GET", path, params=query)
            yield from self._records(body, key, path)
            token = expect_text(body.get("nextPageToken"), f"nextPageToken of {path}", system=SYSTEM,
                                code=TDS_ION_BAD_RESPONSE)
            if not token:
                return
            guard.check(token)
            query["pageToken"] = token

    # --- catalog --------------------------------------------------------------------------------------

    def iter_products(self, *, page_size: int | None = None, name: str | None = None,
                      mfg_part_number: str | None = None, cloud_provider_id: int | None = None) -> Iterator[Any]:
        params = {"filter.name": name, "filter.mfgPartNumber": mfg_part_number,
                  "filter.cloudProviderId": cloud_provider_id}
        return self._iter_token_pages("/products", "products", params, page_size)

    def get_product(self, product_id: str) -> Any:
        return self._object("GET", f"/products/{product_id}")

    def pricing(self, mfg_part_numbers: Iterable[str], *, provider: str = "MICROSOFT",
                price_book_customer_id: int | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"externalProductWithProvider": [
            {"provider": provider, "externalProducts": list(mfg_part_numbers)}]}
        if price_book_customer_id is not None:
            body["priceBookCustomerId"] = int(price_book_customer_id)
        return self._records(self._object("POST", "/products:pricing", idempotent=True, json=body), "plans",
                             "/products:pricing")

    # --- customers and subscriptions ------------------------------------------------------------------

    def iter_customers(self, *, page_size: int | None = None, name: str | None = None) -> Iterator[Any]:
        return self._iter_token_pages("/customers", "customers", {"filter.customerName": name}, page_size)

    def get_customer(self, customer_id: str) -> Any:
        return self._object("GET", f"/customers/{customer_id}")

    def cloud_profiles(self, customer_id: str) -> Any:
        return self._object("GET", f"/customers/{customer_id}/cloudProfiles")

    def iter_subscriptions(self, *, customer_id: str | None = None, status: str | None = None,
                           limit: int = 100) -> Iterator[Any]:
        offset, total = 0, None
        guard = PageLoopGuard(SYSTEM)
        while total is None or offset < total:
            params = {"pagination.limit": limit, "pagination.offset": offset, "customerId": customer_id,
                      "subscriptionStatus": status}
            body = self._object("GET", "/subscriptions", params={k: v for k, v in params.items() if v is not None})
            items = self._records(body, "items", "/subscriptions")
            total = expect_int(body.get("totalCount") or 0, "totalCount of /subscriptions", system=SYSTEM,
                               code=TDS_ION_BAD_RESPONSE)
            yield from items
            if not items:
                return
            offset += len(items)
            guard.check(str(offset))

    def get_subscription(self, customer_id: str, subscription_id: str) -> Any:
        return self._object("GET", f"/customers/{customer_id}/subscriptions/{subscription_id}")

    # --- orders ---------------------------------------------------------------------------------------

    def create_order(self, customer_id: str, order: dict[str, Any]) -> Any:
        """Create an order. ``referenceId`` is the natural key: when the outcome is unknown the order is
        looked up by it, and returned if it landed; otherwise the error goes up (never a blind resend)."""
        try:
            return self._call("POST", f"/customers/{customer_id}/orders", json=order)
        except OutcomeUnknownError:
            reference = order.get("referenceId")
            found = self.find_order_by_reference(customer_id, reference) if reference else None
            if found is not None:
                return found
            raise

    def find_order_by_reference(self, customer_id: str, reference_id: str) -> Any:
        return next((o for o in self.iter_orders(customer_id=customer_id) if o.get("referenceId") == reference_id),
                    None)

    def get_order(self, customer_id: str, order_id: str) -> Any:
        return self._object("GET", f"/customers/{customer_id}/orders/{order_id}")

    def iter_orders(self, *, customer_id: str | None = None, status: str | None = None,
                    page_size: int | None = None, customer_ids: Iterable[str] = (),
                    provider_names: Iterable[str] = (), sort_by: str | None = None,
                    sort_order: str | None = None) -> Iterator[Any]:
        """Orders of one customer (``GET /customers/{customerId}/orders``; ``"-"``: every customer under the
        account), or account-wide (``GET /orders``) with the spec's filters: ``customer_ids``,
        ``provider_names`` (e.g. ``AZURE``), ``sort_by`` ``createTime`` | ``updateTime``, ``sort_order``
        ``ASC`` | ``DESC`` (Ion's default: newest first). The filters and sorting are the account-wide
        list's only."""
        if customer_id:
            if list(customer_ids) or list(provider_names) or sort_by or sort_order:
                raise ValueError("a customer's order list takes only status and paging (spec: ListCustomerOrders)")
            return self._iter_token_pages(f"/customers/{customer_id}/orders", "orders", {"status": status},
                                          page_size)
        params = {"status": status, "filter.customerIdList": ",".join(customer_ids) or None,
                  "filter.providerNameList": ",".join(provider_names) or None, "sortBy": sort_by,
                  "sortOrder": sort_order}
        return self._iter_token_pages("/orders", "orders", params, page_size)

    def subscription_orders(self, *, customer_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Subscription (the ``resourceId`` of a CREATE item) → the order that created it, from the
        orders of one customer or of the whole account; an order that has not created its
        subscriptions yet (not COMPLETED) names none."""
        found: dict[str, dict[str, Any]] = {}
        for order in self.iter_orders(customer_id=customer_id):
            for item in order.get("orderItems") or []:
                resource = str(item.get("resourceId") or "")
                if item.get("action") == "CREATE" and resource and resource not in found:
                    found[resource] = order
        return found

    def cancel_order(self, customer_id: str, order_id: str) -> Any:
        return self._call("POST", f"/customers/{customer_id}/orders/{order_id}:cancel")

    # --- reports --------------------------------------------------------------------------------------

    def list_reports(self, module: str | None = None) -> list[dict[str, Any]]:
        params = {"module": module} if module else {}
        return self._records(self._object("GET", "/reports", params=params), "reports", "/reports")

    def report_rows(self, report_id: str, *, start_date: str | None = None, end_date: str | None = None
                    ) -> list[dict[str, str]]:
        """``reportDataCsv``: the CSV inside the JSON ``results`` field, parsed into dicts."""
        specs: dict[str, Any] = {}
        if start_date:
            specs["dateRangeOption"] = {"fixedDateRange": {"startDate": start_date, "endDate": end_date or start_date}}
        path = f"/reports/{report_id}/reportDataCsv"
        body = self._object("POST", path, idempotent=True, json={"reportId": report_id, "specs": specs})
        results = expect_text(body.get("results"), f"results of {path}", system=SYSTEM, code=TDS_ION_BAD_RESPONSE)
        try:
            return list(csv.DictReader(io.StringIO(results)))
        except csv.Error as exc:
            raise FatalApiError(f"Ion: results of {path} is not CSV ({exc})", code=TDS_ION_BAD_RESPONSE,
                                system=SYSTEM) from None
