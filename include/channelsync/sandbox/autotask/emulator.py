"""The Autotask REST (ATServicesRest v1.0) emulator: discovery, auth, limits and routing.

Paths below ``/autotask``: ``/atservicesrest/v1.0/zoneInformation?user=`` (zone-neutral discovery),
``/atservicesrest/versioninformation``, and the API under ``/ATServicesRest/V1.0/...``, all routed
case-insensitively, like the IIS / ASP.NET Web API servers (docs/vendors/autotask.md §A.1).
"""

from __future__ import annotations

import time
import zlib
from typing import Any, ClassVar
from urllib.parse import quote

from channelsync.sandbox import demo_credentials
from channelsync.sandbox.autotask import handlers
from channelsync.sandbox.autotask.contracts import seed_contract
from channelsync.sandbox.autotask.indexes import IndexedStore
from channelsync.sandbox.autotask.limits import Limits
from channelsync.sandbox.autotask.metadata import CHILDREN, ROOT_OPS
from channelsync.sandbox.autotask.rules import EntityError, Writer
from channelsync.sandbox.autotask.seed import seed
from channelsync.sandbox.concurrency import take_injected_latency
from channelsync.sandbox.framework import Emulator, SandboxRequest, SandboxResponse, json_response

ENTITY_NAMES = {name.lower(): name for name in ROOT_OPS}
CHILD_NAMES = {(parent.lower(), child.lower()): (parent, child) for parent, child in CHILDREN}
EXEMPT = {"zoneinformation", "versioninformation"}


def errors(status: int, *messages: str, headers: dict[str, str] | None = None) -> SandboxResponse:
    return json_response(status, {"errors": list(messages)}, headers)


def not_allowed(method: str) -> SandboxResponse:
    # ASP.NET Web API's own body, capital M (A.8).
    return json_response(405, {"Message": f"The requested resource does not support http method '{method}'."})


def not_found(request: SandboxRequest) -> SandboxResponse:
    return json_response(404, {"Message": f"No HTTP resource was found that matches the request URI "
                                          f"'{request.base_url}/autotask{request.path}'."})


class AutotaskEmulator(Emulator):
    system: ClassVar[str] = "autotask"
    # Injected latency is served while the request holds its thread slot (server.py).
    serves_injected_latency: ClassVar[bool] = True
    store: IndexedStore

    def _new_store(self) -> IndexedStore:
        return IndexedStore()  # filtered queries and reference look-ups through indexes (indexes.py)

    def reset(self) -> None:
        world = self.context.world
        # zoneInformation's ``ci``: the customer (database) id, fixed per seeded database.
        self.customer_id = 100_000 + zlib.crc32(f"{world.scale.name}:{world.seed}".encode()) % 900_000
        self.store.clear()
        self.limits = Limits(now=self.context.clock.now)
        self.locked = False
        self.writer = Writer(self.store, self.context.clock.now)
        # entity -> ((row count, next id), rows id-ascending, ids): see handlers._sorted_rows
        self.sorted_cache: dict[str, tuple[tuple[int, int], list[dict[str, Any]], list[int]]] = {}
        seed(self.store, self.context.world, self.context.clock.now())

    # ---- faults and controls -----------------------------------------------------------------------
    def error_response(self, status: int, message: str) -> SandboxResponse:
        if status >= 500:
            # An unhandled server failure on ASP.NET Web API: no ``errors`` array, so clients can tell
            # it from a business-rule refusal (which is also a 500, with ``errors``).
            return json_response(status, {"Message": "An error has occurred."})
        return errors(status, message)

    def control(self, request: SandboxRequest) -> SandboxResponse:
        """``/_sandbox/autotask/limits`` (GET/POST), ``/_sandbox/autotask/user`` ({"locked": bool}),
        ``/_sandbox/autotask/products/bulk`` ({"count": n}: add generated products, for benchmarks),
        ``/_sandbox/autotask/contracts`` (POST: a contract with services and units, see ``contracts.py``)."""
        path = request.path.strip("/").lower()
        body = request.json() if request.method == "POST" else None
        if path == "limits":
            if isinstance(body, dict):
                if body.pop("reset_counters", False):
                    self.limits.reset_counters()
                used = body.pop("add_usage", 0)
                self.limits.settings.update(body)
                if used:
                    self.limits.add_usage(int(used))
            return json_response(200, self.limits.describe())
        if path == "user":
            if isinstance(body, dict) and "locked" in body:
                self.locked = bool(body["locked"])
            return json_response(200, {"locked": self.locked})
        if path == "contracts" and request.method == "POST":
            try:
                return json_response(200, seed_contract(self.writer, body))
            except EntityError as exc:
                return json_response(400, {"error": str(exc)})
        if path == "products/bulk" and isinstance(body, dict):
            created = handlers.bulk_products(self, int(body.get("count", 0)))
            return json_response(200, {"created": created, "total": len(self.store.table("Products"))})
        return super().control(request)

    # ---- requests ----------------------------------------------------------------------------------
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        parts = [p for p in request.path.split("/") if p]
        if not parts or parts[0].lower() != "atservicesrest":
            return not_found(request)
        rest = parts[1:]
        if len(rest) == 1 and rest[0].lower() == "versioninformation":
            return json_response(200, {"apiVersions": ["1.0"]})
        if not rest or rest[0].lower() != "v1.0":
            return not_found(request)
        segments = rest[1:]
        if not segments:
            return not_found(request)
        if segments[0].lower() == "zoneinformation" and len(segments) == 1:
            return self._zone(request)
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        admitted, latency, retry_after = self.limits.admit()
        if not admitted:
            limit = self.limits.settings.hourly_threshold
            # Assumed wording: the refusal text is not public; 429 + Retry-After as clients expect (A.8).
            return errors(429, f"The API request threshold of {limit} requests per 60 minutes has been "
                               "exceeded. Requests are refused until the usage drops below the threshold.",
                          headers={"Retry-After": str(int(retry_after))})
        key = f"{request.headers.get('apiintegrationcode', '')}|{segments[0].lower()}"
        if not self.limits.enter(key):
            return errors(self.limits.settings.thread_limit_status,
                          "Itgenatr005: The Autotask API thread threshold of "
                          f"{self.limits.settings.thread_limit} threads has been exceeded for this integration "
                          f"and the {segments[0]} endpoint. Please retry the request.")
        try:
            pause = latency + self.limits.settings.processing_ms / 1000 + take_injected_latency()
            if pause:
                time.sleep(pause)
            return self._route(request, segments)
        finally:
            self.limits.leave(key)

    def _zone(self, request: SandboxRequest) -> SandboxResponse:
        user = request.arg("user", case_insensitive=True) or ""
        if user.lower() != demo_credentials.AUTOTASK["username"].lower():
            return errors(500, "Zone information could not be determined")  # observed text (KelvinTegelaar #17)
        return json_response(200, {
            "zoneName": demo_credentials.AUTOTASK["zone_name"],
            "url": f"{self.context.base_url}/autotask/ATServicesRest/",
            "webUrl": f"{self.context.base_url}/autotask/",
            "ci": self.customer_id,
        })

    def _authenticate(self, request: SandboxRequest) -> SandboxResponse | None:
        """Observed order of failures (A.2): unknown user → 500, wrong secret → 401, unknown code → 500."""
        expected = demo_credentials.AUTOTASK
        user = request.headers.get("username") or ""
        if user.lower() != expected["username"].lower():
            return errors(500, "Unable to authenticate: the user name is not valid.")  # wording assumed
        if request.headers.get("secret") != expected["secret"]:
            return errors(401, "Unauthorized: the user name or secret is not valid.")  # wording assumed
        if self.locked:
            # A locked API user: assumed 401 with an errors body (the real text is not public).
            return errors(401, "The API user account is locked. Contact your Autotask administrator.")
        if request.headers.get("apiintegrationcode") != expected["integration_code"]:
            return errors(500, "IntegrationCode is invalid.")  # SOAP-era text, also reported for REST
        return None

    def _route(self, request: SandboxRequest, segments: list[str]) -> SandboxResponse:
        head = segments[0].lower()
        if head == "thresholdinformation" and len(segments) == 1:
            return self._only(request, "GET") or json_response(200, {
                "externalRequestThreshold": self.limits.settings.hourly_threshold,
                "requestThresholdTimeframe": 60,
                "currentTimeframeRequestCount": self.limits.count(),
            })
        if head == "version" and len(segments) == 1:
            return self._only(request, "GET") or json_response(
                200, {"majorVersion": "2025", "minorVersion": "1", "build": "sandbox"})
        entity = ENTITY_NAMES.get(head)
        if entity is None:
            return not_found(request)
        return handlers.dispatch(self, request, entity, segments[1:])

    @staticmethod
    def _only(request: SandboxRequest, method: str) -> SandboxResponse | None:
        return None if request.method == method else not_allowed(request.method)

    def next_page_url(self, entity: str, token: str, search: str | None) -> str:
        url = f"{self.context.base_url}/autotask/ATServicesRest/V1.0/{entity}/query/next?paging={quote(token)}"
        return url + (f"&search={quote(search)}" if search is not None else "")

    def on_direct_edit(self, table: str, record: dict[str, Any]) -> None:
        # A person's edit in the UI: stamp the modification date where the entity has one.
        if "lastModifiedDate" in record:
            record["lastModifiedDate"] = self.writer.stamp()
