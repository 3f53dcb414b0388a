"""The Autotask REST client: zone discovery, the three headers, queries with paging, writes, limits.

Plain Python (no Airflow); no I/O in ``__init__``. Every call goes through the shared
:class:`HttpTransport`; on top of it the client holds Autotask's own limits:

- a per-entity concurrency cap (Autotask refuses a 4th concurrent request per integration code and
  endpoint). Caps are shared by every client of the same integration code in the process, because
  the limit is the tenant's, not the client object's. Built with a ``state_url``, the cap is the
  state store's lease semaphore (``state/leases.py``) instead, keyed by (database, integration code,
  entity): it holds across task processes and workers. Call :meth:`AutotaskClient.release_slots` at
  the end of a load to give the leases back at once (they are otherwise kept, then expire);
- the budget guard (``budget.py``) that stops before a share of the hourly threshold is used.
"""

from __future__ import annotations

import hashlib
import json as json_module
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from channelsync.clients.autotask.budget import BudgetGuard
from channelsync.clients.autotask.errors import AUTOTASK_ZONE_UNKNOWN, SYSTEM, map_error
from channelsync.clients.autotask.filters import Filter, build_query
from channelsync.clients.autotask.products import ProductsMixin
from channelsync.clients.call_tally import ContextThreadPool
from channelsync.clients.http import ConcurrencyCap, HttpTransport, PageLoopGuard, RetryPolicy
from channelsync.errors import FatalApiError

log = logging.getLogger(__name__)

DEFAULT_THREAD_LIMIT = 3
_CAPS: dict[str, ConcurrencyCap] = {}
_CAPS_LOCK = threading.Lock()
_ZONES: dict[tuple[str, str], str] = {}  # (discovery base, user) -> zone REST base, cached per process
_CUSTOMER_IDS: dict[tuple[str, str], str] = {}  # (discovery base, user) -> zoneInformation's ci (the database)


class SlotCap(Protocol):
    """``ConcurrencyCap`` (one process) or ``state.leases.LeaseCap`` (every process of a state store)."""

    limit: int

    def slot(self, key: str) -> AbstractContextManager[None]: ...


def shared_cap(integration_code: str, limit: int = DEFAULT_THREAD_LIMIT) -> ConcurrencyCap:
    """The process-wide cap of one integration code (Autotask counts threads per code and endpoint)."""
    with _CAPS_LOCK:
        cap = _CAPS.get(integration_code)
        if cap is None or cap.limit != limit:
            cap = _CAPS[integration_code] = ConcurrencyCap(limit)
        return cap


class AutotaskClient(ProductsMixin):
    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        secret: str,
        integration_code: str,
        impersonation_resource_id: int | None = None,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        thread_limit: int = DEFAULT_THREAD_LIMIT,
        cap: SlotCap | None = None,
        threshold_share: float = 0.5,
        budget_check_every: int = 100,
        zone_url: str | None = None,
        state_url: str | None = None,
    ) -> None:
        """``base_url`` is the zone-neutral host (e.g. ``https://webservices.autotask.net`` or the
        sandbox's ``http://127.0.0.1:8700/autotask``); ``zone_url`` skips discovery when known.
        ``state_url``: hold the thread limit across processes with the state store's leases."""
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._secret = secret
        self._integration_code = integration_code
        self.impersonation_resource_id = impersonation_resource_id
        self.transport = HttpTransport(
            system=SYSTEM, session=session, policy=policy, error_mapper=map_error,
            secrets=(secret, integration_code), code_prefix="AUTOTASK",
        )
        if cap is None and state_url:
            from channelsync.state.leases import shared_lease_cap

            cap = shared_lease_cap(state_url, thread_limit, system=SYSTEM)
        self.cap: SlotCap = cap or shared_cap(integration_code, thread_limit)
        # A cross-process cap sees every tenant and code: its keys name them (a digest, not the code).
        self._tenant_keys = bool(getattr(self.cap, "tenant_scoped", False))
        self._code_digest = hashlib.sha256(integration_code.encode()).hexdigest()[:16]
        self._tenant_id: str | None = None
        self.budget = BudgetGuard(self.threshold_information, share=threshold_share, check_every=budget_check_every)
        self._zone_url = zone_url
        self._picklists: dict[tuple[str, str], dict[str, int]] = {}

    def __repr__(self) -> str:  # never the secret nor the integration code
        return f"AutotaskClient(base_url={self.base_url!r}, username={self.username!r})"

    # ---- discovery and plumbing --------------------------------------------------------------------
    @property
    def _discovery_key(self) -> tuple[str, str]:
        """Key of the per-process discovery caches (``_ZONES``, ``_CUSTOMER_IDS``)."""
        return (self.base_url, self.username.lower())

    @property
    def api_url(self) -> str:
        """``{zone url}V1.0/``, discovering the zone once per process and user."""
        if self._zone_url is None:
            key = self._discovery_key
            if key not in _ZONES:
                _ZONES[key] = self._discover_zone()
            self._zone_url = _ZONES[key]
        return self._zone_url.rstrip("/") + "/V1.0/"

    @property
    def tenant_id(self) -> str:
        """``autotask:<ci>``: the Autotask database, by zoneInformation's customer id ``ci``. Known
        once the zone is discovered (no extra call then); ZoneInformation is not thread-limited."""
        if self._tenant_id is None:
            key = self._discovery_key
            if key not in _CUSTOMER_IDS:
                _ZONES[key] = self._discover_zone()
            ci = _CUSTOMER_IDS.get(key)
            if not ci:
                raise FatalApiError("Autotask zone discovery returned no customer id (ci)",
                                    code=AUTOTASK_ZONE_UNKNOWN, system=SYSTEM)
            self._tenant_id = f"autotask:{ci}"
        return self._tenant_id

    def _discover_zone(self) -> str:
        response = self.transport.request(
            "GET", f"{self.base_url}/atservicesrest/v1.0/zoneInformation", params={"user": self.username},
        )
        body = response.json()
        url = body.get("url")
        if not url:
            raise FatalApiError("Autotask zone discovery returned no url", code=AUTOTASK_ZONE_UNKNOWN, system=SYSTEM)
        if body.get("ci") not in (None, ""):
            _CUSTOMER_IDS[self._discovery_key] = str(body["ci"])
        return str(url)

    def release_slots(self) -> None:
        """Give back the cross-process thread slots this process holds (the end of a load); a no-op
        with the in-process cap. Slots are taken again as calls need them."""
        release = getattr(self.cap, "release_all", None)
        if release is not None:
            release()

    def _headers(self, method: str) -> dict[str, str]:
        headers = {
            "ApiIntegrationCode": self._integration_code, "UserName": self.username, "Secret": self._secret,
            "Content-Type": "application/json", "Accept": "application/json",
        }
        if self.impersonation_resource_id is not None and method != "GET":
            headers["ImpersonationResourceId"] = str(self.impersonation_resource_id)
        return headers

    def call(self, method: str, path_or_url: str, *, json: Any = None, idempotent: bool | None = None,
             params: dict[str, Any] | None = None) -> Any:
        """One API call (budget-checked, under the entity's concurrency cap); returns parsed JSON."""
        content = self.call_raw(method, path_or_url, json=json, idempotent=idempotent, params=params)
        return json_module.loads(content) if content else None

    def call_raw(self, method: str, path_or_url: str, *, json: Any = None, idempotent: bool | None = None,
                 params: dict[str, Any] | None = None) -> bytes:
        url = path_or_url if path_or_url.startswith("http") else self.api_url + path_or_url.lstrip("/")
        self.budget.before_call()
        try:
            with self.cap.slot(self._slot_key(url)):
                response = self.transport.request(
                    method, url, json=json, params=params, idempotent=idempotent, headers=self._headers(method),
                )
        finally:
            self.budget.after_call()  # counted by the tenant by now: the guard's readings include it
        return response.content

    def _slot_key(self, url: str) -> str:
        entity = self._entity_of(url)
        if not self._tenant_keys:
            return entity  # the in-process cap is already per integration code
        return f"{self.tenant_id}|{self._code_digest}|{entity}"

    @staticmethod
    def _entity_of(url: str) -> str:
        path = urlsplit(url).path
        lowered = path.lower()
        marker = lowered.find("/v1.0/")
        tail = path[marker + 6:] if marker >= 0 else path
        return tail.split("/", 1)[0].lower()

    # ---- generic entity operations -----------------------------------------------------------------
    def threshold_information(self) -> dict[str, Any]:
        """``{externalRequestThreshold, requestThresholdTimeframe, currentTimeframeRequestCount}``."""
        return dict(self.call("GET", "ThresholdInformation"))

    def ping(self) -> None:
        """Cheap authenticated call for the hook's test_connection."""
        self.threshold_information()

    def get(self, entity: str, item_id: int) -> dict[str, Any] | None:
        return self.call("GET", f"{entity}/{int(item_id)}").get("item")

    def iter_query(
        self, entity: str, filters: Filter | Sequence[Filter] | None = None, *,
        include_fields: Sequence[str] | None = None, max_records: int = 500,
    ) -> Iterator[dict[str, Any]]:
        """Every matching record, id-ascending, following ``nextPageUrl`` (POSTed with the same body).

        Reads one page ahead: the next page is requested as soon as its URL is known (read from the
        tail of the body) while this page is parsed and consumed, so paging costs about one round
        trip per page. A caller that stops early may have caused one extra page call.
        """
        body = build_query(filters if filters is not None else Filter.everything(),
                           include_fields=include_fields, max_records=max_records)
        guard = PageLoopGuard(SYSTEM)
        with ContextThreadPool(max_workers=1, thread_name_prefix="autotask-page") as pool:
            content = self.call_raw("POST", f"{entity}/query", json=body, idempotent=True)
            while True:
                next_url = _next_page_url(content)
                guard.check(next_url)
                ahead = pool.submit(self.call_raw, "POST", next_url, json=body, idempotent=True) if next_url else None
                yield from json_module.loads(content).get("items") or []
                if ahead is None:
                    return
                content = ahead.result()

    def count(self, entity: str, filters: Filter | Sequence[Filter] | None = None) -> int:
        body = build_query(filters if filters is not None else Filter.everything())
        return int(self.call("POST", f"{entity}/query/count", json=body, idempotent=True)["queryCount"])

    def create(self, entity: str, fields: dict[str, Any]) -> int:
        """POST; a lost answer raises OutcomeUnknownError (look the record up by its natural key)."""
        return int(self.call("POST", entity, json=_without_id(fields))["itemId"])

    def update(self, entity: str, fields: dict[str, Any]) -> int:
        """PATCH on the collection URL with ``id`` in the body (there is no PATCH {Entity}/{id})."""
        _require_id(fields)
        return int(self.call("PATCH", entity, json=fields)["itemId"])

    def replace(self, entity: str, fields: dict[str, Any]) -> int:
        """PUT: writable fields not sent are cleared by Autotask."""
        _require_id(fields)
        return int(self.call("PUT", entity, json=fields)["itemId"])

    def delete(self, entity: str, item_id: int) -> int:
        return int(self.call("DELETE", f"{entity}/{int(item_id)}")["itemId"])

    def create_child(self, parent_entity: str, parent_id: int, child: str, fields: dict[str, Any]) -> int:
        return int(self.call("POST", f"{parent_entity}/{int(parent_id)}/{child}", json=_without_id(fields))["itemId"])

    def update_child(self, parent_entity: str, parent_id: int, child: str, fields: dict[str, Any]) -> int:
        _require_id(fields)
        return int(self.call("PATCH", f"{parent_entity}/{int(parent_id)}/{child}", json=fields)["itemId"])

    def iter_children(self, parent_entity: str, parent_id: int, child: str) -> Iterator[dict[str, Any]]:
        yield from self.call("GET", f"{parent_entity}/{int(parent_id)}/{child}").get("items") or []

    def field_information(self, entity: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"{entity}/entityInformation/fields")["fields"])

    def picklist(self, entity: str, field: str) -> dict[str, int]:
        """``{label: value}`` of a picklist field, read once from ``entityInformation/fields``."""
        key = (entity.lower(), field.lower())
        if key not in self._picklists:
            for info in self.field_information(entity):
                if info.get("isPickList"):
                    values = info.get("picklistValues") or []
                    self._picklists[(entity.lower(), str(info["name"]).lower())] = {
                        str(v["label"]): int(v["value"]) for v in values if v.get("isActive", True)
                    }
            self._picklists.setdefault(key, {})
        return self._picklists[key]


def _next_page_url(content: bytes) -> str | None:
    """``pageDetails.nextPageUrl`` without parsing the whole page (it closes the body), or by parsing it."""
    start = content.rfind(b'"pageDetails"')
    try:
        details = json_module.loads(b"{" + content[start:]) if start > 0 else json_module.loads(content)
    except ValueError:
        details = json_module.loads(content)
    url = (details.get("pageDetails") or {}).get("nextPageUrl")
    return str(url) if url else None


def _require_id(fields: dict[str, Any]) -> None:
    if not any(k.lower() == "id" for k in fields):
        raise ValueError("Autotask updates go to the collection URL with the id in the body")


def _without_id(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k.lower() != "id"}
