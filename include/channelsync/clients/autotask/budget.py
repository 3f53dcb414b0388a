"""The budget guard: stop before channelsync uses more than its share of the hourly threshold.

A breach of Autotask's 10,000-requests-per-hour threshold blocks *every* integration of the tenant,
so the client stops itself at a share of it (default 50 %, where Autotask starts adding latency).

How often it looks: ``ThresholdInformation`` is itself a counted request, so it is not read before
every call. The guard reads it on the first call, then again when the calls sent since the last
reading reach ``min(check_every, headroom // 2)``, where headroom = the share's limit minus the
last observed count minus our own calls since. Far from the limit that is every ``check_every``
(default 100) calls; close to it the checks come sooner, and between two checks it counts its own
calls, so it stops in time unless other integrations burn more than half the remaining headroom
between two readings. ``ensure(n)`` refuses a unit of work that needs n calls when it cannot fit,
so a caller can avoid leaving a multi-call operation half-done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from channelsync.clients.autotask.errors import AUTOTASK_BUDGET_GUARD, SYSTEM
from channelsync.errors import QuotaExhausted


class BudgetExhausted(QuotaExhausted):
    """Raised before a call would take channelsync past its share of the hourly threshold."""


@dataclass
class BudgetReading:
    threshold: int
    used: int


class BudgetGuard:
    def __init__(
        self, read: Callable[[], dict[str, Any]], *, share: float = 0.5, check_every: int = 100
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("threshold share must be in (0, 1]")
        self._read = read
        self.share = share
        self.check_every = max(1, check_every)
        self.reading: BudgetReading | None = None
        self.since_reading = 0  # our calls since the last reading (the reading call itself excluded)
        self.readings = 0
        self._lock = threading.RLock()  # re-entered by the guard's own reading call
        self._reading_now = False

    @property
    def limit(self) -> int:
        return int(self.reading.threshold * self.share) if self.reading else 0

    def projected(self) -> int:
        return (self.reading.used if self.reading else 0) + self.since_reading

    def _due(self) -> bool:
        if self.reading is None:
            return True
        headroom = self.limit - self.projected()
        return self.since_reading >= max(1, min(self.check_every, headroom // 2))

    def before_call(self, calls: int = 1) -> None:
        """Called before each API call (the client does it); raises when the call would not fit."""
        with self._lock:
            if self._reading_now:
                return  # the guard's own ThresholdInformation call
            if self._due():
                # The reading is itself a counted request: never let it be the one that crosses the share.
                if self.reading is not None and self.projected() + 1 + calls > self.limit:
                    raise self._exhausted(calls)
                self._refresh()
            if self.projected() + calls > self.limit:
                raise self._exhausted(calls)
            self.since_reading += calls

    def ensure(self, calls: int) -> None:
        """Refuse up front a unit of work needing ``calls`` calls that would cross the share."""
        with self._lock:
            self._refresh()
            if self.projected() + calls > self.limit:
                raise self._exhausted(calls)

    def _refresh(self) -> None:
        self._reading_now = True
        try:
            info = self._read()
        finally:
            self._reading_now = False
        self.readings += 1
        self.reading = BudgetReading(int(info["externalRequestThreshold"]), int(info["currentTimeframeRequestCount"]))
        self.since_reading = 0

    def _exhausted(self, calls: int) -> BudgetExhausted:
        assert self.reading is not None
        return BudgetExhausted(
            f"Autotask budget guard: {self.projected()} of {self.reading.threshold} requests used this hour; "
            f"{calls} more would pass channelsync's share of {self.share:.0%} ({self.limit})",
            code=AUTOTASK_BUDGET_GUARD, system=SYSTEM,
        )
