"""The budget guard under threads: a reading in flight holds up no other call, and together the threads
never pass the share (a fake tenant counts every call, the guard's readings included)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from channelsync.clients.autotask.budget import BudgetExhausted, BudgetGuard


class Tenant:
    """Autotask's rolling count: every request, the ThresholdInformation readings included."""

    def __init__(self, threshold: int, used: int = 0, reading_s: float = 0.0) -> None:
        self.threshold, self.used, self.reading_s = threshold, used, reading_s
        self.lock = threading.Lock()

    def call(self) -> None:
        with self.lock:
            self.used += 1

    def read(self) -> dict[str, Any]:
        self.call()
        with self.lock:
            seen = self.used
        time.sleep(self.reading_s)  # the answer travels back
        return {"externalRequestThreshold": self.threshold, "currentTimeframeRequestCount": seen}


def test_a_reading_in_flight_holds_up_no_call() -> None:
    tenant = Tenant(10_000)
    in_flight, answer = threading.Event(), threading.Event()

    def read() -> dict[str, Any]:
        if guard.readings:  # the second reading: held until the calls below went through
            in_flight.set()
            assert answer.wait(10)
        return tenant.read()

    guard = BudgetGuard(read, share=0.5, check_every=10)
    for _ in range(11):  # the first reading, then ten calls: the eleventh call finds the next one due
        guard.before_call()
        tenant.call()
        guard.after_call()
    assert in_flight.wait(5)
    started = time.monotonic()
    for _ in range(5):
        guard.before_call()  # not held up by the reading (it waits for these calls)
        tenant.call()
        guard.after_call()
    assert time.monotonic() - started < 2
    answer.set()
    deadline = time.monotonic() + 5
    while guard.readings < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert guard.readings == 2
    # The call that found the reading due and the five made meanwhile count on top of the new reading.
    assert guard.since_reading == 6 and guard.reading is not None and guard.reading.used == tenant.used


def test_threads_together_stay_within_the_share() -> None:
    tenant = Tenant(400, used=100, reading_s=0.02)  # share 50 %: up to 200; others used 100
    guard = BudgetGuard(tenant.read, share=0.5, check_every=25)
    stopped: list[BaseException] = []

    def work() -> None:
        try:
            while True:
                guard.before_call()
                time.sleep(0.001)  # the call's own round trip
                tenant.call()
                guard.after_call()
        except BudgetExhausted as exc:
            stopped.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(stopped) == 4 and all(e.code == "AUTOTASK_BUDGET_GUARD" for e in stopped)  # type: ignore[attr-defined]
    assert 160 <= tenant.used <= 200, tenant.used
    assert guard.readings < (tenant.used - 100) / 5


@pytest.mark.parametrize("share", [0.0, 1.5])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError):
        BudgetGuard(lambda: {}, share=share)
