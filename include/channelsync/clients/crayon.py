"""Client of the Crayon Cloud-iQ Customer API v1 (successor of rhipe PRISM): tenants, subscriptions,
price list and the monthly billing statements with their invoice lines.

- Token: ``POST {base}/connect/token`` with HTTP Basic (API client id / secret) and the resource-owner
  password grant (API user), ``scope=CustomerApi``. Cached until 60 s before ``expiresIn``; a 401 on a
  call refreshes it once, a second 401 is ``CRAYON_AUTH_FAILED``.
- Paging: ``Page`` (1-based) / ``PageSize``; the ``{totalHits, items}`` envelope (a bare array is also
  accepted) is read until ``totalHits`` or a short page; :class:`PageLoopGuard` stops a server that
  repeats a page.
- The wire is PascalCase (``AccessToken``, ``Items`` / ``TotalHits``, ``ErrorCode``, ``CustomerTenant``,
  ``ChargeStartDate`` ...; docs/vendors/crayon.md §2.2) while the published spec writes camelCase: every
  answer is normalised to camelCase names by :func:`camel` (Newtonsoft's rule, so ``Id`` → ``id``,
  ``SKUID`` → ``skuid``), so either casing reads the same and records come out camelCase. Request bodies
  are sent PascalCase, as the official SDK sends them. Money is parsed as :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
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
    nested,
    parse_json,
    quantity,
    text,
)
from channelsync.errors import ApiError, FatalApiError, RetriableApiError, define, define_transport_codes, redact

log = logging.getLogger(__name__)

SYSTEM = "crayon"
CRAYON_AUTH_FAILED = define("CRAYON_AUTH_FAILED", SYSTEM, "Crayon refused the API client or user credentials")
CRAYON_NOT_FOUND = define("CRAYON_NOT_FOUND", SYSTEM, "The Crayon record does not exist")
CRAYON_BAD_REQUEST = define("CRAYON_BAD_REQUEST", SYSTEM, "Crayon refused the request as invalid (400)")
TRANSPORT_CODES = define_transport_codes("CRAYON", SYSTEM, "Crayon")
CRAYON_RATE_LIMITED = TRANSPORT_CODES.rate_limited
CRAYON_SERVER_ERROR = TRANSPORT_CODES.server_error
CRAYON_BAD_RESPONSE = define("CRAYON_BAD_RESPONSE", SYSTEM,
                             "Crayon answered with a body that is not the JSON the call returns (refused whole)")


def signed_ratio(value: Any) -> str | None:
    """A billable ratio: a number from -1 to 1 (a reversal or a credit is negative, Microsoft's "pair"
    style: docs/vendors/microsoft-csp.md §3.1)."""
    problem = money(value)
    if problem is None and not -1 <= Decimal(value) <= 1:
        return f"is {str(value)[:40]}, not between -1 and 1"
    return problem


# What an invoice line (billing record) needs to be billed on: each line is checked on its own, a line
# that fails is quarantined with the first problem (``check_invoice_lines``). Names after :func:`camel`.
INVOICE_LINE_FIELDS = {
    "id": ident,
    "customerTenant": nested("id", ident),
    "subscription": nested("id", ident),
    "product": nested("partNumber", text),
    "chargeType": text,
    "chargeStartDate": iso_date,
    "chargeEndDate": iso_date,
    "quantity": quantity,
    "unitPrice": money,
    "billableRatio": signed_ratio,
    "subTotal": money,
    "currency": currency,
}


def check_invoice_lines(lines: list[Any]) -> CheckedRecords:
    """Invoice lines as :meth:`CrayonClient.get_invoice_lines` returns them → the lines a billing run
    can use, and the others quarantined with an item-level reason (missing keys, wrong types, numbers
    that are not finite or beyond what a PSA stores, dates that are not dates, a period ending before
    it starts)."""
    return check_records(lines, INVOICE_LINE_FIELDS, period=("chargeStartDate", "chargeEndDate"))


def camel_name(name: str) -> str:
    """PascalCase → camelCase as Newtonsoft's camel-case resolver does it: the leading capitals are
    lower-cased, except the last one of a run that a lower-case letter follows (``Id`` → ``id``,
    ``TotalHits`` → ``totalHits``, ``SKUID`` → ``skuid``, ``PCToBCRate`` → ``pcToBCRate``). A camelCase
    name is left as it is."""
    chars = list(name)
    for at, char in enumerate(chars):
        if not char.isupper():
            break
        if at > 0 and at + 1 < len(chars) and not chars[at + 1].isupper():
            break
        chars[at] = char.lower()
    return "".join(chars)


def camel(data: Any) -> Any:
    """Every object's property names in camelCase (:func:`camel_name`), recursively."""
    if isinstance(data, dict):
        return {(camel_name(k) if isinstance(k, str) else k): camel(v) for k, v in data.items()}
    if isinstance(data, list):
        return [camel(v) for v in data]
    return data


class CrayonClient:
    """Plain client; ``base_url`` is the API root, e.g. ``https://api.crayon.com/api/v1``."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        page_size: int = 100,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._username = username
        self._password = password
        self.page_size = page_size
        self.auth = BearerAuth(system=SYSTEM, fetch=self._fetch_token, auth_code=CRAYON_AUTH_FAILED, clock=clock)
        self.transport = HttpTransport(
            system=SYSTEM, session=session, policy=policy, error_mapper=self._map_error,
            secrets=(client_secret, password), code_prefix="CRAYON", sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"CrayonClient(base_url={self.base_url!r})"

    # -- auth ----------------------------------------------------------------------------------
    def _fetch_token(self) -> tuple[str, float]:
        form = {"grant_type": "password", "username": self._username, "password": self._password,
                "scope": "CustomerApi"}
        try:
            response = self.transport.request(
                "POST", f"{self.base_url}/connect/token", idempotent=True,  # a token request changes nothing
                auth=(self._client_id, self._client_secret), data=form, headers={"Accept": "application/json"},
            )
        except FatalApiError as exc:
            if exc.status in (400, 401, 403):
                raise FatalApiError(
                    f"Crayon refused the credentials ({exc.vendor_message})", code=CRAYON_AUTH_FAILED,
                    system=SYSTEM, status=exc.status, vendor_message=exc.vendor_message,
                ) from None
            raise
        body = camel(expect_object(json_body(response, system=SYSTEM, code=CRAYON_BAD_RESPONSE),
                                   "the token answer", system=SYSTEM, code=CRAYON_BAD_RESPONSE))
        token = body.get("accessToken")
        if not token:
            raise FatalApiError(f"Crayon returned no access token ({str(body.get('error'))[:200]})",
                                code=CRAYON_AUTH_FAILED, system=SYSTEM, status=response.status_code)
        token = expect_text(token, "accessToken", system=SYSTEM, code=CRAYON_BAD_RESPONSE, token=True)
        return token, expect_seconds(body.get("expiresIn"), "expiresIn", system=SYSTEM,
                                     code=CRAYON_BAD_RESPONSE, default=3600)

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}/{path.lstrip('/')}"
        return self.auth.call(self.transport, method, url, **kwargs)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return _camel(json_body(self._call("GET", path, params=params), system=SYSTEM, code=CRAYON_BAD_RESPONSE),
                      path)

    def _object(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return expect_object(self._get(path, params), f"the answer to GET {path}", system=SYSTEM,
                             code=CRAYON_BAD_RESPONSE)

    def _map_error(self, response: requests.Response) -> ApiError | None:
        status = response.status_code
        try:
            body = camel(error_body(response))
        except RecursionError:
            body = {}
        vendor = redact(str(body.get("message") or body.get("error") or response.text[:300]),
                        (self._client_secret, self._password))
        common: dict[str, Any] = {"system": SYSTEM, "status": status, "vendor_message": vendor}
        if status == 404:
            return FatalApiError(f"Crayon: not found ({vendor})", code=CRAYON_NOT_FOUND, **common)
        if status == 400 and "errorCode" in body:
            params = body.get("parameters") or {}
            return FatalApiError(f"Crayon refused the request: {vendor} {params}", code=CRAYON_BAD_REQUEST, **common)
        if status == 429 or status >= 500:
            code = CRAYON_RATE_LIMITED if status == 429 else CRAYON_SERVER_ERROR
            return RetriableApiError(f"Crayon answered {status}: {vendor}", code=code,
                                     retry_after=parse_retry_after(response.headers.get("Retry-After")), **common)
        return None  # 401 and the rest: the transport's classification (401 triggers one token refresh)

    # -- paging --------------------------------------------------------------------------------
    def _paged(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        guard = PageLoopGuard(SYSTEM)
        page = 1
        seen = 0
        while True:
            body = self._get(path, {**(params or {}), "Page": page, "PageSize": self.page_size})
            if not isinstance(body, list):
                body = expect_object(body, f"the answer to GET {path}", system=SYSTEM, code=CRAYON_BAD_RESPONSE)
            items = expect_records(body if isinstance(body, list) else body.get("items"), f"items of {path}",
                                   system=SYSTEM, code=CRAYON_BAD_RESPONSE)
            total = None if isinstance(body, list) or body.get("totalHits") is None else expect_int(
                body.get("totalHits"), f"totalHits of {path}", system=SYSTEM, code=CRAYON_BAD_RESPONSE)
            guard.check(json.dumps([item.get("id", item.get("uniqueId")) for item in items], default=str))
            yield from items
            seen += len(items)
            if len(items) < self.page_size or (total is not None and seen >= total) or not items:
                return
            page += 1

    # -- domain --------------------------------------------------------------------------------
    def ping(self) -> None:
        """One cheap authenticated call (``GET /Me``)."""
        self._object("Me")

    def iter_organizations(self, *, search: str | None = None) -> Iterator[dict[str, Any]]:
        return self._paged("Organizations", {"Search": search} if search else None)

    def iter_customer_tenants(self, *, organization_id: int | None = None,
                              search: str | None = None) -> Iterator[dict[str, Any]]:
        return self._paged("CustomerTenants", _clean({"OrganizationId": organization_id, "Search": search}))

    def get_customer_tenant(self, tenant_id: int) -> dict[str, Any]:
        return self._object(f"CustomerTenants/{int(tenant_id)}")

    def iter_subscriptions(self, *, organization_id: int | None = None, customer_tenant_id: int | None = None,
                           statuses: int | None = None) -> Iterator[dict[str, Any]]:
        params = {"OrganizationId": organization_id, "CustomerTenantId": customer_tenant_id, "Statuses": statuses}
        return self._paged("Subscriptions", _clean(params))

    def get_subscription(self, subscription_id: int) -> dict[str, Any]:
        return self._object(f"Subscriptions/{int(subscription_id)}")

    def iter_agreement_products(self, *, organization_id: int | None = None, search: str | None = None,
                                part_numbers: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """The price list: buy price (``salesPrice``) and RRP (``recommendedRetailPrice``) per NCE part number."""
        params = _clean({"OrganizationId": organization_id, "Search": search})
        if part_numbers:
            params["Include.PartNumbers"] = list(part_numbers)
        return self._paged("AgreementProducts", params)

    def iter_billing_statements(self, *, organization_id: int | None = None, provision_type: int | None = None,
                                from_date: str | None = None, to_date: str | None = None) -> Iterator[dict[str, Any]]:
        params = {"OrganizationId": organization_id, "ProvisionType": provision_type, "From": from_date,
                  "To": to_date}
        return self._paged("BillingStatements", _clean(params))

    def _file(self, path: str) -> bytes:
        """A ``{fileName, data}`` answer's content: ``data`` must be base64 (strictly: a truncated or
        garbled file is refused, never decoded around its bad characters)."""
        data = expect_text(self._object(path).get("data"), f"data of {path}", system=SYSTEM,
                           code=CRAYON_BAD_RESPONSE)
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FatalApiError(f"Crayon: data of {path} is not base64 ({exc})", code=CRAYON_BAD_RESPONSE,
                                system=SYSTEM) from None

    def get_invoice_lines(self, statement_id: int) -> list[dict[str, Any]]:
        """The statement's invoice lines (``billingrecordsfile``: base64 JSON), money as Decimal. A file
        that is not a JSON list of objects is refused whole (``CRAYON_BAD_RESPONSE``); the lines'
        fields are checked one by one by :func:`check_invoice_lines`."""
        path = f"BillingStatements/{int(statement_id)}/billingrecordsfile"
        raw = self._file(path)
        if not raw:
            return []
        lines = parse_json(raw, what=f"the billing records file of statement {int(statement_id)}", system=SYSTEM,
                           code=CRAYON_BAD_RESPONSE)
        return expect_records(_camel(lines, path), f"the billing records of statement {int(statement_id)}",
                              system=SYSTEM, code=CRAYON_BAD_RESPONSE)

    def get_reconciliation_rows(self, statement_id: int) -> list[dict[str, str]]:
        """The statement's reconciliation CSV (``reconciliationfile``) as rows of strings."""
        path = f"BillingStatements/{int(statement_id)}/reconciliationfile"
        try:
            return list(csv.DictReader(io.StringIO(self._file(path).decode("utf-8-sig"))))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise FatalApiError(f"Crayon: the reconciliation file of statement {int(statement_id)} is not UTF-8 CSV "
                                f"({type(exc).__name__})", code=CRAYON_BAD_RESPONSE, system=SYSTEM) from None

    def update_subscription_quantity(self, subscription_id: int, quantity: int) -> dict[str, Any]:
        """``PUT /Subscriptions/{id}``: a seat change (PUT is idempotent: retried on 5xx)."""
        body = {"Id": int(subscription_id), "Quantity": int(quantity)}
        path = f"Subscriptions/{int(subscription_id)}"
        return _camel(json_body(self._call("PUT", path, json=body), system=SYSTEM, code=CRAYON_BAD_RESPONSE), path)


def _camel(data: Any, path: str) -> Any:
    try:
        return camel(data)
    except RecursionError:
        raise FatalApiError(f"Crayon: the answer to {path} is nested too deep", code=CRAYON_BAD_RESPONSE,
                            system=SYSTEM) from None


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
