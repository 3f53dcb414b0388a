"""Autotask's request threshold and thread limit (docs/vendors/autotask.md §A.9), configurable for tests.

- A rolling 60-minute request counter per database (default 10,000), shared by every integration;
  the sandbox clock drives it, so a test can move past the hour instead of waiting.
- Added latency from 50 % (0.5 s) and 75 % (1 s) of the threshold, refusal at 100 % (429).
  The latencies are settable (``POST /_sandbox/autotask/limits``) so tests stay fast.
- At most ``thread_limit`` (3) requests in flight per (integration code, entity); the excess is refused
  with the "thread threshold" error text. ``refusals`` counts them, so tests can prove a client never
  exceeded the cap. ``processing_ms`` holds each request in flight that long, which makes overlaps
  observable on loopback (real requests take tens of milliseconds).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

WINDOW = timedelta(minutes=60)


@dataclass
class LimitSettings:
    hourly_threshold: int = 10_000
    thread_limit: int = 3
    latency_50_s: float = 0.5
    latency_75_s: float = 1.0
    processing_ms: float = 0.0
    # n8n saw thread-limit refusals with a non-429 status; which one is not recorded. 429 by default.
    thread_limit_status: int = 429

    def update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            if not hasattr(self, key):
                raise ValueError(f"unknown limit setting {key!r}")
            setattr(self, key, type(getattr(self, key))(value))


@dataclass
class Limits:
    now: Callable[[], datetime]
    settings: LimitSettings = field(default_factory=LimitSettings)
    refusals: dict[str, int] = field(default_factory=lambda: {"thread_limit": 0, "threshold": 0})
    max_in_flight: dict[str, int] = field(default_factory=dict)
    delayed: dict[str, int] = field(default_factory=lambda: {"50%": 0, "75%": 0})  # requests slowed per tier
    _stamps: deque[datetime] = field(default_factory=deque)
    _in_flight: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _expire(self, now: datetime) -> None:
        while self._stamps and now - self._stamps[0] >= WINDOW:
            self._stamps.popleft()

    def count(self) -> int:
        with self._lock:
            self._expire(self.now())
            return len(self._stamps)

    def admit(self) -> tuple[bool, float, float]:
        """Count one request. Returns (admitted, added latency in s, Retry-After in s when refused)."""
        now = self.now()
        with self._lock:
            self._expire(now)
            threshold = self.settings.hourly_threshold
            if len(self._stamps) >= threshold:
                self.refusals["threshold"] += 1
                retry_after = (self._stamps[0] + WINDOW - now).total_seconds() if self._stamps else 60.0
                return False, 0.0, max(1.0, retry_after)
            self._stamps.append(now)
            used = len(self._stamps) / threshold
            tier = "75%" if used >= 0.75 else "50%" if used >= 0.5 else None
            if tier is not None:
                self.delayed[tier] += 1
        if tier == "75%":
            return True, self.settings.latency_75_s, 0.0
        if tier == "50%":
            return True, self.settings.latency_50_s, 0.0
        return True, 0.0, 0.0

    def add_usage(self, n: int) -> None:
        """Control API: pretend other integrations of the tenant already made ``n`` requests."""
        now = self.now()
        with self._lock:
            self._stamps.extend([now] * n)

    def enter(self, key: str) -> bool:
        """Take a thread slot for (integration code, entity); False (and a refusal counted) when full."""
        with self._lock:
            current = self._in_flight.get(key, 0)
            if current >= self.settings.thread_limit:
                self.refusals["thread_limit"] += 1
                return False
            self._in_flight[key] = current + 1
            self.max_in_flight[key] = max(self.max_in_flight.get(key, 0), current + 1)
            return True

    def leave(self, key: str) -> None:
        with self._lock:
            self._in_flight[key] = max(0, self._in_flight.get(key, 0) - 1)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            self._expire(self.now())
            return {
                **self.settings.__dict__,
                "current_timeframe_request_count": len(self._stamps),
                "refusals": dict(self.refusals),
                "max_in_flight": dict(self.max_in_flight),
                "delayed": dict(self.delayed),
            }

    def reset_counters(self) -> None:
        with self._lock:
            self._stamps.clear()
            self.refusals = {"thread_limit": 0, "threshold": 0}
            self.max_in_flight = {}
            self.delayed = {"50%": 0, "75%": 0}
