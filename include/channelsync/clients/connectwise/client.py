"""The ConnectWise PSA REST 3.0 client: discovery, auth, paging, CRUD (docs/vendors/connectwise.md).

- ``site_url`` is the site root (``https://api-na.myconnectwise.net``; sandbox
  ``http://127.0.0.1:8700/connectwise``); the codebase comes from ``login/companyinfo/{company}``
  on first use and is cached (pass ``codebase=`` to skip the call);
- every API call sends ``Authorization: Basic base64(company+public:private)`` and ``clientId``;
- :meth:`iter` hides paging: forward-only (``pagination-type: forward-only`` + ``pageId`` from the
  ``Link`` header) when ordering by id, navigable ``page``/``pageSize`` with ``Link`` otherwise,
  ``pageSize`` 1000, stops on an empty ``Link``/no ``rel="next"`` or a short page, guarded by
  :class:`PageLoopGuard`;
- all HTTP through :class:`HttpTransport` (timeouts, retries of 429/5xx honouring Retry-After, no
  blind retry of POST); the private key and the Basic token never reach logs, messages or reprs.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from channelsync.clients.call_tally import ContextThreadPool
from channelsync.clients.connectwise.errors import (
    CW_CODEBASE_DISCOVERY_FAILED,
    SYSTEM,
    ConnectWiseApiError,
    make_error_mapper,
)
from channelsync.clients.http import HttpTransport, PageLoopGuard, RateLimiter, RetryPolicy

log = logging.getLogger(__name__)

_decode_json: Callable[[bytes], Any]
try:  # a 1,000-record page decodes ~2-3x faster with msgspec (pinned in requirements); json otherwise
    from msgspec.json import decode as _msgspec_decode

    _decode_json = _msgspec_decode
except ImportError:  # pragma: no cover
    _decode_json = json.loads

MAX_PAGE_SIZE = 1000
_NEXT = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')


class ConnectWiseRestClient:
    def __init__(
        self,
        *,
        site_url: str,
        company: str,
        public_key: str,
        private_key: str,
        client_id: str,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        codebase: str | None = None,
        api_version: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        requests_per_second: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.site_url = site_url.rstrip("/")
        self.company = company
        self.client_id = client_id
        self.page_size = max(1, min(MAX_PAGE_SIZE, page_size))
        self._codebase = codebase.strip("/") + "/" if codebase else None
        token = base64.b64encode(f"{company}+{public_key}:{private_key}".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {token}", "clientId": client_id,
                         "Content-Type": "application/json",
                         "Accept": f"application/vnd.connectwise.com+json; version={api_version}"
                         if api_version else "application/json"}
        secrets = (private_key, token, f"{company}+{public_key}:{private_key}")
        self.transport = HttpTransport(system=SYSTEM, session=session, policy=policy,
                                       error_mapper=make_error_mapper(secrets), secrets=secrets,
                                       code_prefix="CW", sleep=sleep)
        self._limiter = RateLimiter(requests_per_second, burst=max(1, int(requests_per_second))) \
            if requests_per_second else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(site_url={self.site_url!r}, company={self.company!r})"

    @property
    def tenant_id(self) -> str:
        """``connectwise:<site>/<company id>``, lower case: the ConnectWise company (database) this
        client writes to. The cloud's ``api-`` host alias (``api-na`` = ``na``) names the same site."""
        split = urlsplit(self.site_url if "://" in self.site_url else f"https://{self.site_url}")
        host = split.netloc.lower().removeprefix("api-")
        return f"{SYSTEM}:{host}{split.path.rstrip('/').lower()}/{self.company.lower()}"

    # --- plumbing --------------------------------------------------------------------------------

    @property
    def calls(self) -> int:
        """HTTP calls sent so far (retries included)."""
        return self.transport.counter.calls

    def codebase(self) -> str:
        """The tenant's codebase (``v4_6_release/``), discovered once and cached."""
        if self._codebase is None:
            url = f"{self.site_url}/login/companyinfo/{self.company}"
            body = self.transport.request("GET", url, headers={"Accept": "application/json"}).json()
            codebase = body.get("Codebase") if isinstance(body, dict) else None
            if not codebase:
                raise ConnectWiseApiError(f"ConnectWise companyinfo for {self.company} returned no codebase",
                                          code=CW_CODEBASE_DISCOVERY_FAILED, system=SYSTEM)
            self._codebase = codebase.strip("/") + "/"
        return self._codebase

    def url(self, path: str) -> str:
        return f"{self.site_url}/{self.codebase()}apis/3.0/{path.strip('/')}"

    @staticmethod
    def _json(response: requests.Response) -> Any:
        return _decode_json(response.content) if response.content else None

    def _send(self, method: str, url: str, *, headers: dict[str, str] | None = None, **kwargs: Any
              ) -> requests.Response:
        if self._limiter is not None:
            self._limiter.acquire()
        log.debug("connectwise %s %s", method, self.transport._safe(url))
        return self.transport.request(method, url, headers={**self._headers, **(headers or {})}, **kwargs)

    # --- generic operations ----------------------------------------------------------------------

    def ping(self) -> dict[str, Any]:
        """A cheap authenticated call (``system/info``) for the hook's test_connection."""
        result: dict[str, Any] = self._json(self._send("GET", self.url("system/info")))
        return result

    def get(self, path: str, record_id: int | None = None, *, fields: str | None = None) -> dict[str, Any]:
        target = path if record_id is None else f"{path.strip('/')}/{record_id}"
        params = {"fields": fields} if fields else None
        result: dict[str, Any] = self._json(self._send("GET", self.url(target), params=params))
        return result

    def count(self, path: str, conditions: str | None = None) -> int:
        params = {"conditions": conditions} if conditions else None
        return int(self._json(self._send("GET", self.url(f"{path.strip('/')}/count"), params=params))["count"])

    def iter(self, path: str, conditions: str | None = None, fields: str | None = None,
             order_by: str | None = "id asc", *, child_conditions: str | None = None,
             custom_field_conditions: str | None = None) -> Iterator[dict[str, Any]]:
        """Every record matching, one page of ``page_size`` per call."""
        params: dict[str, str] = {}
        if conditions:
            params["conditions"] = conditions
        if child_conditions:
            params["childConditions"] = child_conditions
        if custom_field_conditions:
            params["customFieldConditions"] = custom_field_conditions
        if fields:
            params["fields"] = fields
        forward_only = order_by is None or " ".join(order_by.lower().split()) in ("id", "id asc")
        if forward_only:
            yield from self._iter_forward(path, params)
        else:
            assert order_by is not None
            yield from self._iter_pages(path, {**params, "orderBy": order_by})

    def _iter_forward(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Forward-only paging. The next page is requested as soon as its URL is known (the ``Link``
        header), so its network wait overlaps decoding and consuming the current page."""
        guard = PageLoopGuard(SYSTEM)
        url = self.url(path) + "?" + urlencode({"pageSize": self.page_size, **params})
        headers = {"pagination-type": "forward-only"}
        with ContextThreadPool(max_workers=1, thread_name_prefix="cw-prefetch") as prefetch:
            pending: Future[requests.Response] | None = prefetch.submit(self._send, "GET", url, headers=headers)
            while pending is not None:
                response = pending.result()
                pending = None
                link = response.headers.get("Link")
                found = _NEXT.search(link) if link else None
                if found:
                    guard.check(found.group(1))
                    pending = prefetch.submit(self._send, "GET", found.group(1), headers=headers)
                page = self._json(response)
                yield from page
                if len(page) < self.page_size:
                    return  # a short page is the last one (a prefetched page, if any, is ignored)
                if link is None:
                    # ASSUMPTION: an endpoint without forward-only support answers without Link; keep
                    # going by id, which is what pageId means (id > pageId).
                    next_url = self.url(path) + "?" + urlencode({"pageSize": self.page_size, **params,
                                                                 "pageId": page[-1]["id"]})
                    guard.check(next_url)
                    pending = prefetch.submit(self._send, "GET", next_url, headers=headers)

    def _iter_pages(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        guard = PageLoopGuard(SYSTEM)
        page_number = 1
        while True:
            guard.check(str(page_number))
            query = urlencode({"pageSize": self.page_size, **params, "page": page_number})
            response = self._send("GET", f"{self.url(path)}?{query}")
            page = self._json(response)
            yield from page
            if len(page) < self.page_size or not _NEXT.search(response.headers.get("Link") or ""):
                return
            page_number += 1

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST → the created record. Not retried blindly: an unanswered POST raises OutcomeUnknownError."""
        result: dict[str, Any] = self._json(self._send("POST", self.url(path), json=body))
        return result

    def put(self, path: str, record_id: int, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._json(self._send("PUT", self.url(f"{path.strip('/')}/{record_id}"), json=body))
        return result

    def patch(self, path: str, record_id: int, ops: list[dict[str, Any]]) -> dict[str, Any]:
        """JSON-Patch list ``[{"op": "replace", "path": "price", "value": 10}]`` → the updated record."""
        result: dict[str, Any] = self._json(self._send("PATCH", self.url(f"{path.strip('/')}/{record_id}"), json=ops))
        return result

    def delete(self, path: str, record_id: int) -> None:
        self._send("DELETE", self.url(f"{path.strip('/')}/{record_id}"))


def replace_ops(changes: dict[str, Any]) -> list[dict[str, Any]]:
    """``{"price": 10}`` → ``[{"op": "replace", "path": "price", "value": 10}]`` (None → remove)."""
    return [{"op": "remove", "path": key} if value is None else {"op": "replace", "path": key, "value": value}
            for key, value in changes.items()]
