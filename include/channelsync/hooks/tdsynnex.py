"""Airflow hooks for TD SYNNEX.

Connection types ``tdsynnex-ion`` and ``tdsynnex-xml`` (RFC 3986 schemes have no ``_``; connections
made with the former ``tdsynnex_ion`` / ``tdsynnex_xml`` types work the same: the hook is chosen by
the integration's system, never by the type). The connection form's fields: ``hooks/forms.py``.

``TdSynnexIonHook`` — conn_type ``tdsynnex-ion``, default conn id ``tdsynnex_ion_default``:

- ``host``: Ion base URL, e.g. ``https://ion.tdsynnex.com`` (sandbox: ``http://127.0.0.1:8700/tdsynnex/ion``)
- ``extra.account_id``: the Ion reseller account id (Quick Access → Account Information)
- ``extra.refresh_token``: the first refresh token (portal → Users → OAuth credentials). Ion rotates
  it on every use; the rotated token is kept in the token store, not written back to the connection
- ``extra.token_file`` (optional): where a ``FileTokenStore`` keeps the rotated token between runs.
  Without it, runs (``runs/context.py``), ``get_conn()`` and ``test_connection()`` keep it in the
  state store under the connection id; ``build_client()`` alone keeps it in memory (a second client
  would present a used token). Pass ``token_store=`` to the hook to use another store.

``TdSynnexXmlHook`` — conn_type ``tdsynnex-xml``, default conn id ``tdsynnex_xml_default``:

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
from channelsync.hooks.base import (
    ChannelsyncHook,
    ConnectionInvalid,
    connection_id,
    extra_fields,
    name_connection_in_errors,
)


class TdSynnexIonHook(ChannelsyncHook):
    default_conn_name = "tdsynnex_ion_default"
    conn_type = "tdsynnex-ion"
    hook_name = "TD SYNNEX StreamOne Ion (channelsync)"

    def __init__(self, conn_id: str | None = None, *, token_store: TokenStore | None = None, **kwargs: Any) -> None:
        super().__init__(conn_id, **kwargs)
        self.token_store = token_store

    def make_client(self, connection: Any) -> TdSynnexIonClient:
        extra = self.require_extra(connection, "account_id")
        host = self.require_host(connection)
        store = self.token_store
        if store is None:
            seed = extra.get("refresh_token") or connection.password or None
            store = FileTokenStore(extra["token_file"], initial=seed) if extra.get("token_file") else \
                InMemoryTokenStore(seed)
        return TdSynnexIonClient(base_url=host, account_id=str(extra["account_id"]), token_store=store)

    def client_for(self, connection: Any) -> TdSynnexIonClient:
        """Ion refresh tokens are single use: without a token store or ``token_file``, the client keeps
        the rotated token where the runs look for it (the state store, by connection id), so testing
        the connection does not spend the token the next run needs."""
        if self.token_store is not None or extra_fields(connection).get("token_file"):
            return self.build_client(connection)
        from channelsync import settings
        from channelsync.runs.context import client_from_connection

        client: TdSynnexIonClient = client_from_connection("tdsynnex_ion", connection, state_url=settings.state_url())
        return client


class TdSynnexXmlHook(ChannelsyncHook):
    default_conn_name = "tdsynnex_xml_default"
    conn_type = "tdsynnex-xml"
    hook_name = "TD SYNNEX XML and flat file (channelsync)"

    def make_client(self, connection: Any) -> TdSynnexXmlClient:
        extra = self.require_extra(connection, "customer_number")
        return TdSynnexXmlClient(base_url=self.require_host(connection), customer_number=str(extra["customer_number"]),
                                 username=connection.login, password=connection.password)

    def check(self, client: Any, connection: Any) -> None:
        """PO status (an authenticated read), and the flat-file site when the connection names one."""
        client.ping()
        if extra_fields(connection).get("flatfile_url"):
            self.build_flatfile_client(connection).ping()

    def get_flatfile_client(self) -> TdSynnexFlatFileClient:
        return self.build_flatfile_client(self.connection())

    @staticmethod
    def build_flatfile_client(connection: Any) -> TdSynnexFlatFileClient:
        """The daily catalog file is reached with the XML connection's login (extra ``flatfile_url``)."""
        conn_id = connection_id(connection, TdSynnexXmlHook.default_conn_name)
        extra = extra_fields(connection)
        missing = [name for name in ("flatfile_url", "customer_number") if extra.get(name) in (None, "")]
        if missing:
            raise ConnectionInvalid(f"Airflow connection {conn_id!r} ({TdSynnexXmlHook.hook_name}) needs extra "
                                    f"field(s) {', '.join(missing)} for the daily catalog file")
        client = TdSynnexFlatFileClient(base_url=extra["flatfile_url"], customer_number=str(extra["customer_number"]),
                                        username=connection.login or "", password=connection.password or "")
        return name_connection_in_errors(client, conn_id)
