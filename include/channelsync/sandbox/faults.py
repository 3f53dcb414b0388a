"""Fault rules set through ``POST /_sandbox/faults``.

A rule matches requests by system, method and a path regex (case-insensitive search) and does one
thing: ``latency`` (sleep, then answer normally), ``status`` (answer that status in the vendor's
error shape, with ``Retry-After`` when given), ``timeout`` (hold the request ``timeout_s``, then
close the socket), ``drop`` (close the socket without answering) or ``write_then_drop`` (apply the
request, then close the socket: the client cannot tell whether it was applied).

``probability`` fires a rule at random (seeded, so runs repeat); ``count`` limits how many times it
fires; ``skip`` lets the first N matching requests through first.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_KINDS = ("latency", "status", "timeout", "drop", "write_then_drop")


@dataclass
class FaultRule:
    kind: str
    system: str | None = None
    method: str | None = None
    path: str | None = None
    latency_ms: float = 0.0
    status: int = 500
    retry_after: float | None = None
    message: str | None = None
    timeout_s: float = 5.0
    probability: float = 1.0
    count: int | None = None
    skip: int = 0
    fired: int = 0
    seen: int = 0
    _regex: re.Pattern[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        self._regex = re.compile(self.path, re.IGNORECASE) if self.path else None

    def matches(self, system: str, method: str, path: str) -> bool:
        if self.system and self.system.lower() != system.lower():
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self._regex and not self._regex.search(path))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_regex", None)
        return data


class FaultBook:
    def __init__(self, seed: int = 0) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def set(self, rules: list[dict[str, Any]], *, replace: bool = True) -> list[FaultRule]:
        parsed = [FaultRule(**{k: v for k, v in rule.items() if k not in ("fired", "seen")}) for rule in rules]
        with self._lock:
            if replace:
                self._rules = parsed
            else:
                self._rules.extend(parsed)
        return parsed

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def pick(self, system: str, method: str, path: str) -> list[FaultRule]:
        """Rules that fire for this request (at most one non-latency rule, latency rules add up)."""
        fired: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if not rule.matches(system, method, path):
                    continue
                rule.seen += 1
                if rule.seen <= rule.skip:
                    continue
                if rule.count is not None and rule.fired >= rule.count:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                if rule.kind != "latency" and any(r.kind != "latency" for r in fired):
                    continue
                rule.fired += 1
                fired.append(rule)
        return fired
