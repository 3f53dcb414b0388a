"""The shape every channelsync hook shares (after apache-airflow-providers-http's HttpHook).

A hook is class attributes + ``make_client(connection)``; it holds no state beyond the client it
built. Connection fields: ``host`` is the API base URL (scheme included), ``login`` / ``password``
the credentials, ``extra`` the vendor-specific fields documented in the README (and declared for
Airflow's connection form in :mod:`channelsync.hooks.forms`).

Errors name the Airflow connection: a connection that is not defined raises
:class:`ConnectionMissing`, one that lacks a field :class:`ConnectionInvalid`, and a client built
here adds ``(Airflow connection 'x')`` to the errors its transport raises when the system refuses
the credentials or cannot be reached.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from channelsync.errors import ApiError, ChannelsyncError, define, redact
from channelsync.hooks.forms import FORMS

CONNECTION_MISSING = define("CONNECTION_MISSING", "channelsync", "The Airflow connection is not defined")
CONNECTION_INVALID = define(
    "CONNECTION_INVALID", "channelsync", "The Airflow connection lacks a field its system needs, or has a bad value"
)
# Error codes (by their ending) that mean the system refused this connection's credentials, or that
# the connection's host could not be reached: the errors worth naming the connection in.
_CONNECTION_CODE_ENDINGS = ("AUTH_FAILED", "PERMISSION", "PERMISSION_DENIED", "USER_LOCKED", "TOKEN_REUSED",
                            "TOKEN_MISSING", "UNREACHABLE")


class ConnectionMissing(ChannelsyncError):
    code = CONNECTION_MISSING


class ConnectionInvalid(ChannelsyncError, ValueError):
    """A ``ValueError`` too: callers that caught the hooks' ``ValueError`` keep working."""

    code = CONNECTION_INVALID


def missing_connection_message(conn_id: str, what: str) -> str:
    return (
        f"Airflow connection {conn_id!r} ({what}) is not defined: add it in Airflow (UI Admin → Connections, "
        f"AIRFLOW_CONN_{conn_id.upper()} or a secrets backend); `channelsync airflow load-settings` loads the "
        "sandbox ones"
    )


class ChannelsyncHook(BaseHook):
    # The constructor argument naming the connection: Airflow builds a hook as
    # ``hook_class(**{conn_name_attr: conn_id})`` (the connection form's Test button, Connection.get_hook).
    conn_name_attr = "conn_id"
    default_conn_name = ""
    conn_type = ""
    hook_name = ""

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id or self.default_conn_name
        self._client: Any = None

    # --- building the client ---------------------------------------------------------------------

    def make_client(self, connection: Any) -> Any:
        """Return the plain client for this connection (no network I/O here)."""
        raise NotImplementedError

    def build_client(self, connection: Any) -> Any:
        """:meth:`make_client`, with a bad field reported as :class:`ConnectionInvalid` naming the
        connection, and the client's credential / reachability errors naming it too."""
        conn_id = connection_id(connection, self.conn_id)
        try:
            client = self.make_client(connection)
        except ConnectionInvalid:
            raise
        except ValueError as exc:  # the hooks' own checks, and int()/float() of extra fields
            raise ConnectionInvalid(f"Airflow connection {conn_id!r} ({self.hook_name}): {exc}") from exc
        return name_connection_in_errors(client, conn_id)

    def require_extra(self, connection: Any, *names: str) -> dict[str, Any]:
        """The connection's extra fields, after checking that ``names`` are set."""
        extra = extra_fields(connection)
        missing = [name for name in names if extra.get(name) in (None, "")]
        if missing:
            raise ConnectionInvalid(
                f"Airflow connection {connection_id(connection, self.conn_id)!r} ({self.hook_name}) needs "
                f"extra field(s) {', '.join(missing)}"
            )
        return extra

    def require_host(self, connection: Any) -> str:
        host = str(getattr(connection, "host", None) or "")
        if not host:
            raise ConnectionInvalid(
                f"Airflow connection {connection_id(connection, self.conn_id)!r} ({self.hook_name}) has no host "
                "(the API base URL)"
            )
        return host

    # --- Airflow ---------------------------------------------------------------------------------

    def connection(self) -> Any:
        """This hook's Airflow connection; :class:`ConnectionMissing` when it is not defined."""
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            return self.get_connection(self.conn_id)
        except AirflowNotFoundException as exc:
            found = _from_metadata_database(self.conn_id)
            if found is not None:
                return found
            raise ConnectionMissing(missing_connection_message(self.conn_id, self.hook_name)) from exc

    def client_for(self, connection: Any) -> Any:
        """The client :meth:`get_conn` and :meth:`test_connection` use (a hook whose credentials
        rotate keeps them where the runs do)."""
        return self.build_client(connection)

    def get_conn(self) -> Any:
        if self._client is None:
            self._client = self.client_for(self.connection())
        return self._client

    def check(self, client: Any, connection: Any) -> None:
        """What :meth:`test_connection` calls: authenticate and make one cheap read."""
        client.ping()

    def test_connection(self) -> tuple[bool, str]:
        """Authenticate and make one cheap read; on failure the message names the connection and
        carries no secret (clients redact theirs; the connection's secrets are redacted again here)."""
        connection = None
        try:
            connection = self.connection()
            self.check(self.client_for(connection), connection)
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            if self.conn_id not in message:
                message = f"Airflow connection {self.conn_id!r} ({self.hook_name}): {message}"
            return False, redact(message, self._secrets(connection))
        return True, "Connection successfully tested"

    def _secrets(self, connection: Any) -> list[str]:
        if connection is None:
            return []
        form = FORMS.get(self.conn_type)
        extra = extra_fields(connection)
        hidden = [name for name, spec in (form.extras.items() if form else ()) if spec.kind == "password"]
        return [str(v) for v in [getattr(connection, "password", None), *(extra.get(n) for n in hidden)] if v]


def connection_id(connection: Any, default: str = "") -> str:
    return str(getattr(connection, "conn_id", None) or default or "?")


def extra_fields(connection: Any) -> dict[str, Any]:
    extra = getattr(connection, "extra_dejson", None)
    return dict(extra or {})


def name_connection_in_errors(client: Any, conn_id: str) -> Any:
    """Make the client's transport add ``(Airflow connection 'x')`` to the errors that are about the
    connection (refused credentials, unreachable host), so a failed run says which one to fix."""
    transport: Any = getattr(client, "transport", None)
    send = getattr(transport, "request", None)
    if send is None or getattr(transport, "conn_id", None):
        return client

    def request(*args: Any, **kwargs: Any) -> Any:
        try:
            return send(*args, **kwargs)
        except ApiError as exc:
            if exc.code.endswith(_CONNECTION_CODE_ENDINGS) and conn_id not in exc.message:
                exc.message = f"{exc.message} (Airflow connection {conn_id!r})"
                exc.args = (exc.message, *exc.args[1:])
            raise

    transport.request = request
    transport.conn_id = conn_id
    return client


def _from_metadata_database(conn_id: str) -> Any:
    """Outside a task (the channelsync CLI), Airflow 3's SDK looks only at the environment and secrets
    backends; a connection kept in the metadata database (the UI's, ``load-settings``') is read there."""
    try:
        from airflow.models import Connection

        return Connection.get_connection_from_secrets(conn_id)
    except Exception:  # not found, or no database in this process (a task): the caller reports it missing
        return None
