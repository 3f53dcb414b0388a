"""A small client of the sandbox control API, for tests, benchmarks and the CLI."""

from __future__ import annotations

from typing import Any

import requests

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SandboxControl:
    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()

    def _url(self, path: str) -> str:
        return f"{self.base_url}/_sandbox/{path.lstrip('/')}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, self._url(path), timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def reset(self, scale: str = "small", seed: int = 42) -> dict[str, Any]:
        return self._call("POST", "reset", json={"scale": scale, "seed": seed})

    def set_faults(self, *rules: dict[str, Any], replace: bool = True) -> list[dict[str, Any]]:
        return self._call("POST", "faults", json={"rules": list(rules), "replace": replace})["rules"]

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults")["rules"]

    def requests(self, system: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"since": since}
        if system:
            params["system"] = system
        return self._call("GET", "requests", params=params)["requests"]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def concurrency(self) -> dict[str, dict[str, int]]:
        """``{system: {entity: high-water mark of requests in flight}}`` since the last reset."""
        result: dict[str, dict[str, int]] = self._call("GET", "concurrency")["concurrency"]
        return result

    def reset_concurrency(self) -> None:
        self._call("DELETE", "concurrency")

    def set_clock(self, now: str, *, frozen: bool = False) -> dict[str, Any]:
        return self._call("POST", "clock", json={"now": now, "frozen": frozen})

    def advance_clock(self, *, days: float = 0, seconds: float = 0) -> dict[str, Any]:
        return self._call("POST", "clock", json={"advance_days": days, "advance_seconds": seconds})

    def records(self, system: str, table: str, **filters: Any) -> list[dict[str, Any]]:
        return self._call("GET", f"records/{system}/{table}", params=filters)["records"]

    def record(self, system: str, table: str, key: Any) -> dict[str, Any]:
        return self._call("GET", f"records/{system}/{table}/{key}")

    def create_record(self, system: str, table: str, record: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", f"records/{system}/{table}", json=record)

    def edit_record(self, system: str, table: str, key: Any, changes: dict[str, Any]) -> dict[str, Any]:
        return self._call("PATCH", f"records/{system}/{table}/{key}", json=changes)

    def delete_record(self, system: str, table: str, key: Any) -> dict[str, Any]:
        return self._call("DELETE", f"records/{system}/{table}/{key}")

    def control(self, system: str, path: str, method: str = "POST", **kwargs: Any) -> Any:
        return self._call(method, f"{system}/{path.lstrip('/')}", **kwargs)
