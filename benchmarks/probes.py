"""Timing probes of the benchmarks: wrap a few functions so a stage's time can be split without touching
their files (in the benchmark's process only). Shared by ``bench_billing`` and ``bench_catalog_sync``."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any


class Probes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)
        self.enabled = False

    def add(self, name: str, seconds: float) -> None:
        if self.enabled:
            with self._lock:
                self.total[name] += seconds
                self.count[name] += 1

    def reset(self) -> None:
        with self._lock:
            self.total.clear()
            self.count.clear()

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)
        probes = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                probes.add(name, time.perf_counter() - started)

        setattr(owner, attribute, timed)
