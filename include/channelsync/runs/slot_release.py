"""Give the cross-process concurrency slots back when the *last* load of the process ends.

A load's Autotask slots (``state/leases.py``) are the process's: every client of the process shares one
lease cap, and its threads hand leases to each other in memory. Giving them back at the end of each load
(so another process's load gets them now, not when they expire) is right when a load is its process's only
one — an Airflow task — but where several loads run at once in one process (mapped load tasks on threads,
as the benchmarks and an in-process runner do), one ending took the slots the others were using: each of
their next calls paid a state-store transaction to take a slot again, and another to give it back, on the
critical path of every purchase order. So a load that ends while others of the process still run leaves the
slots to them (they are in use, and the cap still hands them to any process that waits for one, and gives
back those left idle, see ``LeaseCap.beat_once``); the last one gives everything back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from channelsync.runs.context import RunContext

_running = 0
_lock = threading.Lock()


@contextmanager
def load_running(run: RunContext) -> Iterator[None]:
    """Around one load: at its end, if no other load of the process runs, release every slot it holds."""
    global _running
    with _lock:
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            last = _running == 0
        if last:
            run.release_slots()
