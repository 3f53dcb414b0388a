"""Clients built from ``airflow_settings.yaml``-style connection entries, without Airflow's database.

Used by tests and benchmarks to reach the sandbox through exactly the hooks' ``build_client`` code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from channelsync.airflow_settings import read_settings
from channelsync.hooks.forms import current_conn_type


@dataclass
class ConnectionFields:
    """The attributes of an Airflow Connection that hooks read."""

    conn_id: str
    conn_type: str | None = None
    host: str | None = None
    login: str | None = None
    password: str | None = None
    extra_dejson: dict[str, Any] = field(default_factory=dict)


def connections_from_settings(path: Path, *, sandbox_url: str) -> dict[str, ConnectionFields]:
    out = {}
    for item in read_settings(path, sandbox_url=sandbox_url).get("connections") or []:
        extra = item.get("conn_extra") or {}
        out[item["conn_id"]] = ConnectionFields(
            conn_id=item["conn_id"], conn_type=current_conn_type(item.get("conn_type")),
            host=item.get("conn_host"), login=item.get("conn_login"),
            password=item.get("conn_password"), extra_dejson=extra if isinstance(extra, dict) else json.loads(extra),
        )
    return out


class SettingsClientFactory:
    """A RunContext client factory over fixed connection entries (token stores kept per connection)."""

    def __init__(self, connections: dict[str, ConnectionFields], *, state_url: str | None = None) -> None:
        self.connections = connections
        self.state_url = state_url

    def __call__(self, system: str, conn_id: str) -> Any:
        from channelsync.runs.context import client_from_connection

        return client_from_connection(system, self.connections[conn_id], state_url=self.state_url)
