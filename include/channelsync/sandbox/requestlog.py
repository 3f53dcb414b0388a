"""The request log of the sandbox: every emulator request in arrival order, and counters."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any


class RequestLog:
    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._seq = 0

    def add(self, *, system: str, method: str, path: str, query: str, status: int, duration_ms: float) -> None:
        with self._lock:
            self._seq += 1
            self._entries.append(
                {
                    "seq": self._seq,
                    "system": system,
                    "method": method,
                    "path": path,
                    "query": query,
                    "status": status,
                    "duration_ms": round(duration_ms, 3),
                    "at": time.time(),
                }
            )

    def entries(self, system: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [
                e for e in self._entries
                if e["seq"] > since and (system is None or e["system"] == system.lower())
            ]

    def clear(self) -> None:
        with self._lock:
            self._entries = []

    def counters(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            entries = list(self._entries)
        for entry in entries:
            bucket = out.setdefault(entry["system"], {"total": 0, "by_method": Counter(), "by_status": Counter()})
            bucket["total"] += 1
            bucket["by_method"][entry["method"]] += 1
            bucket["by_status"][str(entry["status"])] += 1
        return {k: {"total": v["total"], "by_method": dict(v["by_method"]), "by_status": dict(v["by_status"])}
                for k, v in out.items()}
