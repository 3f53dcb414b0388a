"""The shape every channelsync hook shares (after apache-airflow-providers-http's HttpHook).

A hook is class attributes + ``build_client(connection)``; it holds no state beyond the client it
built. Connection fields: ``host`` is the API base URL (scheme included), ``login`` / ``password``
the credentials, ``extra`` the vendor-specific fields documented in the README.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook


class ChannelsyncHook(BaseHook):
    conn_name_attr = "conn_id"
    default_conn_name = ""
    conn_type = ""
    hook_name = ""

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id or self.default_conn_name
        self._client: Any = None

    def build_client(self, connection: Any) -> Any:
        """Return the plain client for this connection (no network I/O here)."""
        raise NotImplementedError

    def get_conn(self) -> Any:
        if self._client is None:
            self._client = self.build_client(self.get_connection(self.conn_id))
        return self._client

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated call through the client's ``ping()``."""
        try:
            self.get_conn().ping()
        except Exception as exc:  # the UI shows the message; never the credentials (clients redact)
            return False, str(exc)
        return True, "Connection successfully tested"
