"""Requests in flight per (system, entity), and their high-water marks, for every emulated system.

A request is in flight from the moment the server has read it until its answer is ready, injected
latency included (on the real APIs a slow answer is a thread held, not time spent before arriving).
The high-water marks let a test prove a client never had more than N calls open on one entity
(Autotask's 3 threads per entity, docs/vendors/autotask.md §A.9) whatever the emulator enforces:
``GET /_sandbox/concurrency`` → ``{"concurrency": {system: {entity: max}}}``; reset with the
sandbox (``POST /_sandbox/reset``) or ``DELETE /_sandbox/concurrency``.

The entity is the resource a path addresses: the Autotask entity (``products``, from
``/ATServicesRest/V1.0/Products/query``), the ConnectWise module/resource (``procurement/catalog``),
otherwise the first path segment that is neither an API/version prefix nor an account scope
(``/v1/products`` → ``products``, ``/ion/api/v3/accounts/100001/customers`` → ``customers``).
Entities are lower case (the limits are case-insensitive).

Emulators that hold their own concurrency slots (Autotask) serve the injected latency inside the
slot: the server leaves it in :func:`take_injected_latency` for them; whatever they do not take is
served after they answer, still in flight.
"""

from __future__ import annotations

import re
import threading
from contextvars import ContextVar

_VERSION = re.compile(r"^v?\d+([._]\d+)*(_release)?$", re.IGNORECASE)
_PREFIXES = frozenset({"api", "apis", "ion", "xml", "synnexxml", "atservicesrest", "rest", "odata"})

_injected_latency: ContextVar[float] = ContextVar("sandbox_injected_latency", default=0.0)


def set_injected_latency(seconds: float) -> None:
    _injected_latency.set(seconds)


def take_injected_latency() -> float:
    """The injected latency (s) of the current request not served yet; the caller serves it."""
    seconds = _injected_latency.get()
    _injected_latency.set(0.0)
    return seconds


def entity_of(system: str, path: str) -> str:
    """The resource ``path`` (below the system prefix) addresses; see the module docstring."""
    parts = [p for p in path.split("/") if p]
    lowered = [p.lower() for p in parts]
    if system == "autotask":
        if len(lowered) >= 3 and lowered[0] == "atservicesrest" and lowered[1] == "v1.0":
            return lowered[2]
        if len(lowered) >= 2 and lowered[0] == "atservicesrest":
            return lowered[1]
    if system == "connectwise":
        if len(lowered) >= 4 and lowered[1] == "apis":
            return "/".join(lowered[3:5])
        if len(lowered) >= 2 and lowered[0] == "login":
            return "/".join(lowered[:2])
    index = 0
    while index < len(lowered):
        segment = lowered[index]
        if segment in _PREFIXES or _VERSION.match(segment):
            index += 1
        elif segment == "accounts" and index + 2 < len(lowered):
            index += 2  # an account scope (TD SYNNEX Ion): the resource comes after it
        else:
            return segment.split(":", 1)[0]  # "products:pricing" is the products resource
    return lowered[-1] if lowered else "/"


class ConcurrencyMeter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: dict[tuple[str, str], int] = {}
        self._max: dict[tuple[str, str], int] = {}

    def enter(self, system: str, entity: str) -> None:
        key = (system, entity)
        with self._lock:
            current = self._current.get(key, 0) + 1
            self._current[key] = current
            if current > self._max.get(key, 0):
                self._max[key] = current

    def leave(self, system: str, entity: str) -> None:
        key = (system, entity)
        with self._lock:
            self._current[key] = max(0, self._current.get(key, 0) - 1)

    def maxima(self) -> dict[str, dict[str, int]]:
        """``{system: {entity: high-water mark}}`` since the last reset."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for (system, entity), peak in sorted(self._max.items()):
                out.setdefault(system, {})[entity] = peak
        return out

    def in_flight(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for (system, entity), current in sorted(self._current.items()):
                if current:
                    out.setdefault(system, {})[entity] = current
        return out

    def reset(self) -> None:
        """Forget the high-water marks (requests in flight stay counted, so they still leave cleanly)."""
        with self._lock:
            self._max = {key: value for key, value in self._current.items() if value}
