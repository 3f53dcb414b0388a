"""Airflow hook for the Pax8 partner API.

Connection (conn_type ``pax8``, default conn id ``pax8_default``):

- ``host``: the API root, e.g. ``https://api.pax8.com/v1``; a host without ``/v1`` gets it appended
  (the sandbox: ``http://127.0.0.1:8700/pax8``)
- ``login`` / ``password``: the client id / client secret of the Pax8 API application
- ``extra``: ``{"audience": "https://api.pax8.com", "token_url": "...", "page_size": 200}`` (all
  optional; ``token_url`` defaults to ``<host>/v1/token``, production may use
  ``https://token-manager.pax8.com/oauth/token``)
"""

from __future__ import annotations

from typing import Any

from channelsync.hooks.base import ChannelsyncHook


class Pax8Hook(ChannelsyncHook):
    default_conn_name = "pax8_default"
    conn_type = "pax8"
    hook_name = "Pax8 (channelsync)"

    def make_client(self, connection: Any) -> Any:
        from channelsync.clients.pax8 import DEFAULT_AUDIENCE, Pax8Client

        extra = connection.extra_dejson or {}
        base_url = self.require_host(connection).rstrip("/")
        if not base_url.lower().endswith("/v1"):
            base_url = f"{base_url}/v1"
        return Pax8Client(
            base_url=base_url,
            client_id=connection.login or "",
            client_secret=connection.password or "",
            audience=str(extra.get("audience") or DEFAULT_AUDIENCE),
            token_url=extra.get("token_url") or None,
            page_size=int(extra.get("page_size") or 200),
        )
