"""Airflow's own REST API, called as the signed-in user: the plugin forwards the token the user
presented (the UI's ``_token`` cookie or a bearer header) and never uses an account of its own, so
Airflow checks that user's permissions and records the change in its audit log under their name, as
if they had clicked in Airflow's UI.

Where the API is: ``$CHANNELSYNC_AIRFLOW_API_URL`` when set (e.g. behind a proxy that ends TLS), else
the address this API server was reached on (the plugin runs inside it), under the same root path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import Request

from .security import presented_token

API_URL_ENV = "CHANNELSYNC_AIRFLOW_API_URL"
TIMEOUT_S = 60.0
PAGE = 100  # Airflow's default maximum page size


@dataclass
class Answer:
    """Airflow's answer to one call, shown to the person as it is."""

    method: str
    path: str
    status: int  # 0: Airflow could not be reached
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def detail(self) -> str:
        """Airflow's explanation of a refusal (FastAPI's ``detail``: a text or a list of problems)."""
        body = self.body
        if isinstance(body, dict) and "detail" in body:
            detail = body["detail"]
            if isinstance(detail, list):
                return "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
            return str(detail)
        return str(body)[:2000] if body not in (None, "") else ""


def _root(request: Request) -> str:
    configured = os.environ.get(API_URL_ENV, "").strip()
    if configured:
        return configured.rstrip("/")
    host, port = request.scope.get("server") or ("127.0.0.1", 8080)
    host = "127.0.0.1" if host in ("0.0.0.0", "", None) else host  # a wildcard bind is reached on loopback
    host = f"[{host}]" if ":" in str(host) else host
    root = request.scope.get("root_path", "").rstrip("/").removesuffix("/channelsync")
    return f"{request.url.scheme}://{host}:{port}{root}"


def path(*parts: str) -> str:
    """An API path with each part quoted (run ids hold ``:`` and ``+``)."""
    return "/api/v2/" + "/".join(quote(str(part), safe="") for part in parts)


class AirflowApi:
    def __init__(self, root: str, token: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.root = root.rstrip("/")
        self._client = httpx.Client(base_url=self.root, timeout=TIMEOUT_S, transport=transport, follow_redirects=False,
                                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})

    @classmethod
    def as_user(cls, request: Request) -> AirflowApi:
        token = presented_token(request)
        if not token:  # every route depends on the sign-in: a programming error
            raise RuntimeError("no Airflow token on this request")
        return cls(_root(request), token)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> AirflowApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, api_path: str, *, params: dict[str, Any] | None = None,
             json: dict[str, Any] | None = None) -> Answer:
        try:
            response = self._client.request(method, api_path, params=params, json=json)
        except httpx.HTTPError as exc:
            return Answer(method, api_path, 0, {"detail": f"Airflow's API at {self.root} could not be reached: "
                                                          f"{type(exc).__name__}: {exc}"})
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        return Answer(method, api_path, response.status_code, body)

    # --- the calls the pages make ---------------------------------------------------------------------

    def partitions(self, dag_id: str, dag_run_id: str) -> Answer:
        """The list the ``partitions`` task returned (what the load was mapped over), as an XCom."""
        return self.call("GET", path("dags", dag_id, "dagRuns", dag_run_id, "taskInstances", "partitions",
                                     "xcomEntries", "return_value"))

    def failed_task_instances(self, dag_id: str, dag_run_id: str) -> tuple[Answer, list[dict[str, Any]]]:
        """Every failed task instance of the DAG run (mapped ones each with its map index), page by page."""
        found: list[dict[str, Any]] = []
        while True:
            answer = self.call("GET", path("dags", dag_id, "dagRuns", dag_run_id, "taskInstances"),
                               params={"state": "failed", "limit": PAGE, "offset": len(found)})
            if not answer.ok or not isinstance(answer.body, dict):
                return answer, found
            page = list(answer.body.get("task_instances") or [])
            found += page
            if not page or len(found) >= int(answer.body.get("total_entries") or 0):
                return answer, found

    def clear(self, dag_id: str, body: dict[str, Any]) -> Answer:
        return self.call("POST", path("dags", dag_id, "clearTaskInstances"), json=body)

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> Answer:
        """A manual run with these params (no logical date: Airflow 3's manual runs need none)."""
        return self.call("POST", path("dags", dag_id, "dagRuns"), json={"logical_date": None, "conf": conf})
