"""Airflow hook for Crayon Cloud-iQ / rhipe PRISM (Microsoft CSP billing).

Connection (conn_type ``crayon``, default conn id ``crayon_default``):

- ``host``: the API root, e.g. ``https://api.crayon.com/api/v1``; a host without ``/api/v1`` gets it
  appended (the sandbox: ``http://127.0.0.1:8700/crayon``)
- ``login`` / ``password``: the Cloud-iQ API user
- ``extra``: ``{"client_id": "...", "client_secret": "...", "page_size": 100}`` (the API client
  registered in Cloud-iQ; ``page_size`` optional)
"""

from __future__ import annotations

from typing import Any

from channelsync.hooks.base import ChannelsyncHook


class CrayonHook(ChannelsyncHook):
    default_conn_name = "crayon_default"
    conn_type = "crayon"
    hook_name = "Crayon Cloud-iQ (channelsync)"

    def make_client(self, connection: Any) -> Any:
        from channelsync.clients.crayon import CrayonClient

        extra = self.require_extra(connection, "client_id", "client_secret")
        base_url = self.require_host(connection).rstrip("/")
        if not base_url.lower().endswith("/api/v1"):
            base_url = f"{base_url}/api/v1"
        return CrayonClient(
            base_url=base_url,
            client_id=str(extra.get("client_id", "")),
            client_secret=str(extra.get("client_secret", "")),
            username=connection.login or "",
            password=connection.password or "",
            page_size=int(extra.get("page_size") or 100),
        )
