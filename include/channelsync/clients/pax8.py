"""Client of the Pax8 partner API: companies, products and pricing, subscriptions, orders, invoices.

- Token: client credentials, ``POST`` JSON ``{client_id, client_secret, audience, grant_type}`` to
  ``token_url`` (default ``{base_url}/token`` as in Pax8's auth spec; production also serves
  ``https://token-manager.pax8.com/oauth/token``). Cached until 60 s before ``expires_in`` (24 h);
  a 401 on a call refreshes it once; a second 401 is ``PAX8_AUTH_FAILED``.
- Paging: 0-based ``page`` / ``size`` (max 200) until ``page.number + 1 >= page.totalPages``, with
  :class:`PageLoopGuard`.
- 429 → ``PAX8_RATE_LIMITED`` (retried by the shared policy, honouring ``Retry-After``).
- ``create_order`` is a non-idempotent POST: never retried blindly (``OutcomeUnknownError``: look the
  subscription up before ordering again).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from channelsync.clients.bearer import BearerAuth
from channelsync.clients.http import HttpTransport, PageLoopGuard, RetryPolicy, parse_retry_after
from channelsync.clients.payload import (
    CheckedRecords,
    check_records,
    currency,
    error_body,
    expect_int,
    expect_object,
    expect_records,
    expect_seconds,
    expect_text,
    ident,
    iso_date,
    json_body,
    money,
    quantity,
    text,
)
from channelsync.errors import ApiError, FatalApiError, RetriableApiError, define, define_transport_codes, redact

log = logging.getLogger(__name__)

SYSTEM = "pax8"
PAX8_AUTH_FAILED = define("PAX8_AUTH_FAILED", SYSTEM, "Pax8 refused the client id / secret or audience")
PAX8_NOT_FOUND = define("PAX8_NOT_FOUND", SYSTEM, "The Pax8 record does not exist")
PAX8_VALIDATION_FAILED = define("PAX8_VALIDATION_FAILED", SYSTEM, "Pax8 refused the request body (400/422)")
TRANSPORT_CODES = define_transport_codes("PAX8", SYSTEM, "Pax8")
PAX8_RATE_LIMITED = TRANSPORT_CODES.rate_limited
PAX8_SERVER_ERROR = TRANSPORT_CODES.server_error
PAX8_BAD_RESPONSE = define("PAX8_BAD_RESPONSE", SYSTEM,
                           "Pax8 answered with a body that is not the JSON the call returns (refused whole)")

DEFAULT_AUDIENCE = "https://api.pax8.com"
MAX_PAGE_SIZE = 200

# What an invoice item needs to be billed on: each item is checked on its own, one that fails is
# quarantined with the first problem (``check_invoice_items``).
INVOICE_ITEM_FIELDS = {
    "id": ident,
    "companyId": ident,
    "subscriptionId": ident,
    "sku": text,
    "startPeriod": iso_date,
    "endPeriod": iso_date,
    "quantity": quantity,
    "price": money,
    "cost": money,
    "subTotal": money,
    "costTotal": money,
    "total": money,
    "currencyCode": currency,
}


def check_invoice_items(items: list[Any]) -> CheckedRecords:
    """Invoice items as :meth:`Pax8Client.iter_invoice_items` yields them → the items a billing run can
    use, and the others quarantined with an item-level reason (missing keys, wrong types, numbers that
    are not finite or beyond what a PSA stores, dates that are not dates, a period ending before it starts)."""
    return check_records(items, INVOICE_ITEM_FIELDS, period=("startPeriod", "endPeriod"))


class Pax8Client:
    """Plain client; ``base_url`` is the API root, e.g. ``https://api.pax8.com/v1``."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        audience: str = DEFAULT_AUDIENCE,
        token_url: str | None = None,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        page_size: int = MAX_PAGE_SIZE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url or f"{self.base_url}/token"
        self.audience = audience
        self._client_id = client_id
        self._client_secret = client_secret
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self.auth = BearerAuth(system=SYSTEM, fetch=self._fetch_token, auth_code=PAX8_AUTH_FAILED, clock=clock)
        self.transport = HttpTransport(
            system=SYSTEM, session=session, policy=policy, error_mapper=self._map_error,
            secrets=(client_secret,), code_prefix="PAX8", sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"Pax8Client(base_url={self.base_url!r}, audience={self.audience!r})"

    # -- auth ----------------------------------------------------------------------------------
    def _fetch_token(self) -> tuple[str, float]:
        body = {"client_id": self._client_id, "client_secret": self._client_secret, "audience": self.audience,
                "grant_type": "client_credentials"}
        try:
            # Asking for a token changes nothing on the server: safe to retry.
            response = self.transport.request("POST", self.token_url, idempotent=True, json=body)
        except FatalApiError as exc:
            if exc.status in (400, 401, 403):
                raise FatalApiError(f"Pax8 refused the token request ({exc.vendor_message})", code=PAX8_AUTH_FAILED,
                                    system=SYSTEM, status=exc.status, vendor_message=exc.vendor_message) from None
            raise
        data = expect_object(json_body(response, system=SYSTEM, code=PAX8_BAD_RESPONSE), "the token answer",
                             system=SYSTEM, code=PAX8_BAD_RESPONSE)
        token = data.get("access_token")
        if not token:
            raise FatalApiError("Pax8 returned no access token", code=PAX8_AUTH_FAILED, system=SYSTEM)
        token = expect_text(token, "access_token", system=SYSTEM, code=PAX8_BAD_RESPONSE, token=True)
        return token, expect_seconds(data.get("expires_in"), "expires_in", system=SYSTEM,
                                     code=PAX8_BAD_RESPONSE, default=86400)

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}/{path.lstrip('/')}"
        return self.auth.call(self.transport, method, url, **kwargs)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return expect_object(json_body(self._call("GET", path, params=params), system=SYSTEM, code=PAX8_BAD_RESPONSE),
                             f"the answer to GET {path}", system=SYSTEM, code=PAX8_BAD_RESPONSE)

    def _map_error(self, response: requests.Response) -> ApiError | None:
        status = response.status_code
        body = error_body(response)
        message = str(body.get("message") or body.get("error_description") or response.text[:300])
        listed = body.get("details")
        details = "; ".join(f"{d.get('instance', '')}: {d.get('message', '')}"
                            for d in (listed if isinstance(listed, list) else []) if isinstance(d, dict))
        vendor = redact(f"{message} ({details})" if details else message, (self._client_secret,))
        common: dict[str, Any] = {"system": SYSTEM, "status": status, "vendor_message": vendor}
        if status == 401:
            return FatalApiError(f"Pax8: unauthorized ({vendor})", code=PAX8_AUTH_FAILED, **common)
        if status == 404:
            return FatalApiError(f"Pax8: not found ({vendor})", code=PAX8_NOT_FOUND, **common)
        if status in (400, 422):
            return FatalApiError(f"Pax8 refused the request: {vendor}", code=PAX8_VALIDATION_FAILED, **common)
        if status == 429 or status >= 500:
            code = PAX8_RATE_LIMITED if status == 429 else PAX8_SERVER_ERROR
            return RetriableApiError(f"Pax8 answered {status}: {vendor}", code=code,
                                     retry_after=parse_retry_after(response.headers.get("Retry-After")), **common)
        return None

    # -- paging --------------------------------------------------------------------------------
    def _paged(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        guard = PageLoopGuard(SYSTEM)
        number = 0
        while True:
            body = self._get(path, {**(params or {}), "page": number, "size": self.page_size})
            page = expect_object(body.get("page") or {}, f"page of {path}", system=SYSTEM, code=PAX8_BAD_RESPONSE)
            guard.check(str(page.get("number", number)))
            content = expect_records(body.get("content"), f"content of {path}", system=SYSTEM, code=PAX8_BAD_RESPONSE)
            yield from content
            total_pages = expect_int(page.get("totalPages") or 0, f"totalPages of {path}", system=SYSTEM,
                                     code=PAX8_BAD_RESPONSE)
            if not content or number + 1 >= total_pages:
                return
            number += 1

    # -- domain --------------------------------------------------------------------------------
    def ping(self) -> None:
        """One cheap authenticated call (the first company)."""
        self._get("companies", {"page": 0, "size": 1})

    def iter_companies(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Filters as the API names them: city, country, stateOrProvince, postalCode, status, ..."""
        return self._paged("companies", _clean(filters))

    def get_company(self, company_id: str) -> dict[str, Any]:
        return self._get(f"companies/{company_id}")

    def iter_products(self, *, vendor_name: str | None = None, search: str | None = None) -> Iterator[dict[str, Any]]:
        return self._paged("products", _clean({"vendorName": vendor_name, "search": search}))

    def get_product(self, product_id: str) -> dict[str, Any]:
        return self._get(f"products/{product_id}")

    def get_product_pricing(self, product_id: str, *, company_id: str | None = None) -> list[dict[str, Any]]:
        path = f"products/{product_id}/pricing"
        return expect_records(self._get(path, _clean({"companyId": company_id})).get("content"), f"content of {path}",
                              system=SYSTEM, code=PAX8_BAD_RESPONSE)

    def get_product_dependencies(self, product_id: str) -> dict[str, Any]:
        return self._get(f"products/{product_id}/dependencies")

    def iter_subscriptions(self, *, company_id: str | None = None, product_id: str | None = None,
                           status: str | None = None, billing_term: str | None = None) -> Iterator[dict[str, Any]]:
        params = {"companyId": company_id, "productId": product_id, "status": status, "billingTerm": billing_term}
        return self._paged("subscriptions", _clean(params))

    def get_subscription(self, subscription_id: str) -> dict[str, Any]:
        return self._get(f"subscriptions/{subscription_id}")

    def iter_orders(self, *, company_id: str | None = None) -> Iterator[dict[str, Any]]:
        return self._paged("orders", _clean({"companyId": company_id}))

    def get_order(self, order_id: str) -> dict[str, Any]:
        return self._get(f"orders/{order_id}")

    def create_order(self, order: dict[str, Any], *, is_mock: bool = False) -> dict[str, Any]:
        """``POST /orders``; ``is_mock`` validates without ordering (then the POST is safe to retry)."""
        params = {"isMock": "true"} if is_mock else None
        response = self._call("POST", "orders", json=order, params=params, idempotent=is_mock)
        body = json_body(response, system=SYSTEM, code=PAX8_BAD_RESPONSE, applied=not is_mock)
        return expect_object(body, "the answer to POST orders", system=SYSTEM, code=PAX8_BAD_RESPONSE)

    def iter_invoices(self, *, company_id: str | None = None, status: str | None = None) -> Iterator[dict[str, Any]]:
        """Newest first (``sort=invoiceDate,desc``)."""
        params = {"companyId": company_id, "status": status, "sort": "invoiceDate,desc"}
        return self._paged("invoices", _clean(params))

    def get_invoice(self, invoice_id: str) -> dict[str, Any]:
        return self._get(f"invoices/{invoice_id}")

    def iter_invoice_items(self, invoice_id: str) -> Iterator[dict[str, Any]]:
        return self._paged(f"invoices/{invoice_id}/items")


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
