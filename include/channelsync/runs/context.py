"""Everything one run of one template needs, built the same way in a task, the CLI and tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from channelsync import settings
from channelsync.config import IntegrationConfig

# (system, conn_id) → a plain client. The default builds it through the system's Airflow hook.
ClientFactory = Callable[[str, str], Any]


def hook_client_factory(system: str, conn_id: str) -> Any:
    from channelsync.hooks.registry import hook_for

    if system == "tdsynnex_flatfile":  # the daily file is reached with the XML connection's login
        return hook_for("tdsynnex_xml")(conn_id=conn_id).get_flatfile_client()
    if system == "tdsynnex_ion":  # rotated refresh tokens must outlive the task: keep them in the state store
        from channelsync.state.token_store import StateTokenStore

        hook = hook_for(system)(conn_id=conn_id)
        extra = hook.get_connection(conn_id).extra_dejson
        hook.token_store = StateTokenStore(settings.state_url(), system="tdsynnex_ion", account=conn_id,
                                           initial=extra.get("refresh_token"))
        return hook.get_conn()
    return hook_for(system)(conn_id=conn_id).get_conn()


@dataclass
class RunContext:
    integration: IntegrationConfig
    template: str
    options: BaseModel
    run_key: str
    preview: bool = False
    state_url: str = field(default_factory=settings.state_url)
    client_factory: ClientFactory = hook_client_factory
    run_id: int | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @property
    def staging(self) -> Path:
        safe_key = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.run_key)[:150]
        path = settings.staging_dir() / self.integration.name / self.template / safe_key
        path.mkdir(parents=True, exist_ok=True)
        return path

    def client(self, system: str, conn_id: str) -> Any:
        """One client per (system, connection) per run, so its call counter covers the whole step."""
        key = (system, conn_id)
        if key not in self._clients:
            self._clients[key] = self.client_factory(system, conn_id)
        return self._clients[key]

    def psa_client(self) -> Any:
        return self.client(self.integration.psa.system, self.integration.psa.conn_id)

    def api_calls(self) -> dict[str, int]:
        """Calls sent by every client this context built (attempts included)."""
        calls: dict[str, int] = {}
        for (system, _conn), client in self._clients.items():
            transport = getattr(client, "transport", None)
            if transport is not None:
                calls[system] = calls.get(system, 0) + transport.counter.calls
        return calls
