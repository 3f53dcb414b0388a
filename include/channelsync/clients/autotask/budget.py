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

Concurrency: the reading is a round trip, so nobody waits for it under the lock. The first reading
is made by the first caller (the others wait: there is nothing to count against yet); a later one,
when due, is made by a background thread while every caller, the one that found it due included, goes
on against the last reading and its own count: the same bound that holds between two readings. The
reading call counts as ours while in flight, and the calls in flight when it starts and those reserved
meanwhile are counted on top of the new reading, since it may or may not include them (counted twice at
worst: the guard errs towards stopping early, never late); the client reports each answered call
(``after_call``) so the guard knows which are in flight. A caller that would not fit waits for the
reading in flight before it gives up. One reading at a time; the reading thread is recognised by a
thread-local mark, so its own ThresholdInformation call is not checked against itself.
ThresholdInformation is an entity of its own for Autotask's thread limit (per entity), so the reading
does not take a slot of the calls it overlaps.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from channelsync.clients.autotask.errors import AUTOTASK_BUDGET_GUARD, SYSTEM
from channelsync.clients.call_tally import in_current_context
from channelsync.errors import QuotaExhausted

log = logging.getLogger(__name__)


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
        # our calls the last reading may not include: those since it, those in flight when it was made, and a
        # reading in flight
        self.since_reading = 0
        self.readings = 0
        self._lock = threading.Lock()
        self._reserved = 0  # every call reserved so far (so the calls reserved during a reading are a difference)
        self._in_flight = 0  # reserved and not answered yet (after_call)
        self._refreshing = False  # a reading is in flight (made by one thread, outside the lock)
        self._read_done = threading.Condition(self._lock)
        self._local = threading.local()  # .reading: this thread is making the guard's own reading call

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
        if getattr(self._local, "reading", False):
            return  # the guard's own ThresholdInformation call
        with self._lock:
            while True:
                if self.reading is None:
                    if self._refreshing:
                        self._read_done.wait()
                        continue
                    mark = self._begin_reading()
                    break  # the first reading: nothing to count against before it, so this call waits for it
                if self._refreshing and self.projected() + calls > self.limit:
                    self._read_done.wait()  # no room left: see what the reading in flight says
                    continue
                if self._due() and not self._refreshing:
                    # The reading is itself a counted request: never let it be the one that crosses the share.
                    if self.projected() + 1 + calls > self.limit:
                        raise self._exhausted(calls)
                    # Read in the background: this call and the others go on against the last reading and
                    # their own count, as between two readings, instead of waiting a round trip for it.
                    # (In the caller's context: the reading is counted as a call of the task that made it due.)
                    threading.Thread(target=in_current_context(self._refresh_quietly), args=(self._begin_reading(),),
                                     name="autotask-budget-reading", daemon=True).start()
                self._reserve(calls)
                return
        self._refresh(mark)
        with self._lock:
            self._reserve(calls)

    def ensure(self, calls: int) -> None:
        """Refuse up front a unit of work needing ``calls`` calls that would cross the share."""
        with self._lock:
            while self._refreshing:
                self._read_done.wait()
            mark = self._begin_reading()
        self._refresh(mark)
        with self._lock:
            if self.projected() + calls > self.limit:
                raise self._exhausted(calls)

    def _reserve(self, calls: int) -> None:
        """Under the lock: count ``calls`` against the share, or raise when they would not fit."""
        if self.projected() + calls > self.limit:
            raise self._exhausted(calls)
        self.since_reading += calls
        self._reserved += calls
        self._in_flight += calls

    def after_call(self, calls: int = 1) -> None:
        """Called when a call checked by :meth:`before_call` has been answered (or has failed)."""
        if getattr(self._local, "reading", False):
            return
        with self._lock:
            self._in_flight = max(0, self._in_flight - calls)

    def _begin_reading(self) -> int:
        """Under the lock: a reading starts. Returns what counts on top of its answer: the calls reserved
        from now on, and the calls in flight now, which may reach the tenant's count after the reading
        does. The reading call itself counts as ours until its answer (which includes it) comes."""
        self._refreshing = True
        self.since_reading += 1
        return self._reserved - self._in_flight

    def _refresh_quietly(self, mark: int) -> None:
        try:
            self._refresh(mark)
        except Exception as exc:  # the calls go on counting against the last reading; the next one is due now
            log.warning("Autotask budget reading failed: %s", exc)

    def _refresh(self, mark: int) -> None:
        """Read ThresholdInformation outside the lock, then apply it under the lock."""
        self._local.reading = True
        reading = None
        try:
            info = self._read()
            reading = BudgetReading(int(info["externalRequestThreshold"]), int(info["currentTimeframeRequestCount"]))
        finally:
            self._local.reading = False
            with self._lock:
                self._refreshing = False
                if reading is not None:
                    self.readings += 1
                    self.reading = reading
                    # The calls in flight when it started, and those reserved since, may or may not be in its
                    # count: ours on top of it.
                    self.since_reading = self._reserved - mark
                self._read_done.notify_all()

    def _exhausted(self, calls: int) -> BudgetExhausted:
        assert self.reading is not None
        return BudgetExhausted(
            f"Autotask budget guard: {self.projected()} of {self.reading.threshold} requests used this hour; "
            f"{calls} more would pass channelsync's share of {self.share:.0%} ({self.limit})",
            code=AUTOTASK_BUDGET_GUARD, system=SYSTEM,
        )
