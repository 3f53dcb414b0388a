"""Airflow hooks for TD SYNNEX.

``TdSynnexIonHook`` — conn_type ``tdsynnex_ion``, default conn id ``tdsynnex_ion_default``:

- ``host``: Ion base URL, e.g. ``https://ion.tdsynnex.com`` (sandbox: ``http://127.0.0.1:8700/tdsynnex/ion``)
- ``extra.account_id``: the Ion reseller account id (Quick Access → Account Information)
- ``extra.refresh_token``: the first refresh token (portal → Users → OAuth credentials). Ion rotates
  it on every use; the rotated token is kept in the token store, not written back to the connection
- ``extra.token_file`` (optional): where a ``FileTokenStore`` keeps the rotated token between runs.
  Without it the token lives in memory only and a second run would present a used token. Pass
  ``token_store=`` to the hook to use another store (e.g. the state store).

``TdSynnexXmlHook`` — conn_type ``tdsynnex_xml``, default conn id ``tdsynnex_xml_default``:

- ``host``: XML base URL up to ``/SynnexXML`` excluded, e.g. ``https://ec.synnex.com``
  (sandbox: ``http://127.0.0.1:8700/tdsynnex/xml``)
- ``login`` / ``password``: the EC Express user (a read-only user avoids the 3-month expiry for P&A)
- ``extra.customer_number``: the TD SYNNEX account number
- ``extra.flatfile_url``: base URL of the flat-file site (sandbox: ``http://127.0.0.1:8700/tdsynnex/ftp``);
  same login / password
"""

from __future__ import annotations

from typing import Any

from channelsync.clients.tdsynnex import (
    FileTokenStore,
    InMemoryTokenStore,
    TdSynnexFlatFileClient,
    TdSynnexIonClient,
    TdSynnexXmlClient,
    TokenStore,
)
from channelsync.hooks.base import ChannelsyncHook


def _extra(connection: Any) -> dict[str, Any]:
    extra = connection.extra_dejson if hasattr(connection, "extra_dejson") else {}
    return dict(extra or {})


class TdSynnexIonHook(ChannelsyncHook):
    conn_name_attr = "tdsynnex_ion_conn_id"
    default_conn_name = "tdsynnex_ion_default"
    conn_type = "tdsynnex_ion"
    hook_name = "TD SYNNEX StreamOne Ion"

    def __init__(self, conn_id: str | None = None, *, token_store: TokenStore | None = None, **kwargs: Any) -> None:
        super().__init__(conn_id, **kwargs)
        self.token_store = token_store

    def build_client(self, connection: Any) -> TdSynnexIonClient:
        extra = _extra(connection)
        store = self.token_store
        if store is None:
            seed = extra.get("refresh_token") or connection.password or None
            store = FileTokenStore(extra["token_file"], initial=seed) if extra.get("token_file") else \
                InMemoryTokenStore(seed)
        return TdSynnexIonClient(base_url=connection.host, account_id=str(extra["account_id"]), token_store=store)


class TdSynnexXmlHook(ChannelsyncHook):
    conn_name_attr = "tdsynnex_xml_conn_id"
    default_conn_name = "tdsynnex_xml_default"
    conn_type = "tdsynnex_xml"
    hook_name = "TD SYNNEX XML (P&A, PO) and flat file"

    def build_client(self, connection: Any) -> TdSynnexXmlClient:
        return TdSynnexXmlClient(base_url=connection.host, customer_number=str(_extra(connection)["customer_number"]),
                                 username=connection.login, password=connection.password)

    def get_flatfile_client(self) -> TdSynnexFlatFileClient:
        return self.build_flatfile_client(self.get_connection(self.conn_id))

    @staticmethod
    def build_flatfile_client(connection: Any) -> TdSynnexFlatFileClient:
        """The daily catalog file is reached with the XML connection's login (extra ``flatfile_url``)."""
        extra = _extra(connection)
        return TdSynnexFlatFileClient(base_url=extra["flatfile_url"], customer_number=str(extra["customer_number"]),
                                      username=connection.login or "", password=connection.password or "")
