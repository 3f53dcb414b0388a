"""ConnectWise throttling: past a request rate the API answers 429 + ``Retry-After`` (docs/vendors/connectwise.md §B.5).

The docs only say "> 1,000 requests/minute will likely be throttled"; the exact window is not
public. The emulator counts requests in a sliding one-second window and is OFF by default so
benchmarks are never limited by it; ``POST /_sandbox/connectwise/limits {"requests_per_second": n}``
turns it on (``null`` or 0 turns it off) and ``retry_after`` sets the advertised wait (default 1 s,
short so tests stay fast; the real service says 30 s).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class RequestRateLimit:
    def __init__(self) -> None:
        self.requests_per_second: float | None = None
        self.retry_after: float = 1.0
        self.refused = 0
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def configure(self, requests_per_second: float | None, retry_after: float | None = None) -> None:
        with self._lock:
            self.requests_per_second = requests_per_second or None
            if retry_after is not None:
                self.retry_after = float(retry_after)
            self._times.clear()
            self.refused = 0

    def admit(self) -> float | None:
        """None when the request may proceed, else the Retry-After seconds to advertise."""
        rate = self.requests_per_second
        if rate is None:
            return None
        now = time.monotonic()
        with self._lock:
            while self._times and now - self._times[0] >= 1.0:
                self._times.popleft()
            if len(self._times) >= rate:
                self.refused += 1
                return max(1.0, math.ceil(self.retry_after))
            self._times.append(now)
            return None

    def describe(self) -> dict[str, float | int | None]:
        return {"requests_per_second": self.requests_per_second, "retry_after": self.retry_after,
                "refused": self.refused}
