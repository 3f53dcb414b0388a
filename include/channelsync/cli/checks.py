"""What a command needs set up, checked before it starts: each miss is ONE line saying what is wrong
and the command that fixes it (``cli/main.py`` prints it on stderr and exits 2; ``--debug`` adds the
traceback).

``channelsync sync`` checks, in order: the integrations file, the integration and template named,
Airflow's metadata database, the state store, and each Airflow connection the run reads (defined, and
its host accepting connections), so a missing step of the set-up is named before a DAG run starts.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from channelsync.config import ChannelsyncConfig, IntegrationConfig
from channelsync.errors import ChannelsyncError, ConfigError, define

AIRFLOW_DB_NOT_READY = define("AIRFLOW_DB_NOT_READY", "channelsync", "Airflow's metadata database is not set up")
STATE_STORE_NOT_READY = define("STATE_STORE_NOT_READY", "channelsync", "The state store is not set up")
CONNECTION_UNREACHABLE = define(
    "CONNECTION_UNREACHABLE", "channelsync", "Nothing answers at the host of an Airflow connection"
)
UNKNOWN_NAME = define(
    "CLI_UNKNOWN_NAME", "channelsync", "The command names an integration or template that is not configured"
)

AIRFLOW_FIX = "run `make demo`, or `source scripts/env.sh && airflow db migrate`"
STATE_FIX = "run `channelsync db upgrade` (or `make demo`)"
CONFIG_FIX = "fix the file (`channelsync config check` validates it)"
REACH_TIMEOUT = 3.0
# The connection of each distributor that the templates read (TD SYNNEX: the XML login, which also
# reaches the daily catalog file); a distributor not listed uses its ``conn_id``.
DISTRIBUTOR_CONNECTION = {"tdsynnex": ("xml_conn_id", "conn_id")}


class SetupError(ChannelsyncError):
    """A step of the set-up is missing; the message ends with the command that does it."""


class UsageError(ChannelsyncError):
    code = UNKNOWN_NAME


def env_hint() -> str:
    """Why the wrong Airflow / channelsync home may be in use: the shell has not sourced env.sh."""
    if os.environ.get("AIRFLOW_HOME"):
        return ""
    return " (AIRFLOW_HOME is not set, so Airflow uses ~/airflow; in a checkout, `source scripts/env.sh` first)"


def safe_url(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


@contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """Alembic logs "Context impl SQLiteImpl" for every look at a revision."""
    saved = [(logging.getLogger(name), logging.getLogger(name).level) for name in loggers]
    for logger, _ in saved:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


def _heads(engine: Any) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with _quiet("alembic"), engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def _script_heads(directory: Path) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory(str(directory)).get_heads())


# --- the integrations file and the names on the command line ---------------------------------------


def integration_and_template(configuration: ChannelsyncConfig, path: Path, integration: str,
                             template: str) -> IntegrationConfig:
    from channelsync.templates.registry import TEMPLATES

    names = [i.name for i in configuration.integrations]
    if integration not in names:
        raise UsageError(f"no integration {integration!r} in {path} (configured: {', '.join(names) or 'none'}): "
                         "`channelsync config check` lists the DAGs")
    if template not in TEMPLATES:
        raise UsageError(f"no template {template!r} (templates: {', '.join(sorted(TEMPLATES))}): "
                         "`channelsync config check` lists the DAGs")
    chosen = configuration.get(integration)
    enabled = sorted(name for name, t in chosen.templates.items() if t.enabled)
    if template not in enabled:
        raise UsageError(f"integration {integration!r} has no enabled template {template!r} (enabled: "
                         f"{', '.join(enabled) or 'none'}): enable it under its templates in {path}")
    return chosen


# --- Airflow's metadata database and the state store -----------------------------------------------


def airflow_metadata() -> None:
    """Airflow's metadata database exists and is at the revision this Airflow needs."""
    import airflow
    from airflow import settings as airflow_settings
    from sqlalchemy.exc import SQLAlchemyError

    if getattr(airflow_settings, "engine", None) is None:
        airflow_settings.configure_orm()
    url = safe_url(str(airflow_settings.SQL_ALCHEMY_CONN))
    try:
        heads = _heads(airflow_settings.engine)
    except SQLAlchemyError as exc:
        raise SetupError(f"Airflow's metadata database at {url} cannot be opened ({first_line(exc)}){env_hint()}: "
                         "check AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, then " + AIRFLOW_FIX,
                         code=AIRFLOW_DB_NOT_READY) from exc
    if not heads:
        raise SetupError(f"Airflow's metadata database at {url} is not set up{env_hint()}: {AIRFLOW_FIX}",
                         code=AIRFLOW_DB_NOT_READY)
    expected = _script_heads(Path(airflow.__file__).parent / "migrations")
    if heads != expected:
        raise SetupError(f"Airflow's metadata database at {url} is at revision {', '.join(sorted(heads))}, this "
                         f"Airflow needs {', '.join(sorted(expected))}: run `airflow db migrate`",
                         code=AIRFLOW_DB_NOT_READY)


def state_store(url: str | None = None) -> str:
    """The state store exists and is at the newest revision; returns its URL."""
    from sqlalchemy.exc import SQLAlchemyError

    from channelsync import settings
    from channelsync.state.db import MIGRATIONS_DIR, get_engine

    url = url or settings.state_url()
    where = safe_url(url)
    try:
        heads = _heads(get_engine(url))
    except SQLAlchemyError as exc:
        raise SetupError(f"channelsync's state store at {where} cannot be opened ({first_line(exc)}){env_hint()}: "
                         "check CHANNELSYNC_STATE_URL / CHANNELSYNC_HOME, then " + STATE_FIX,
                         code=STATE_STORE_NOT_READY) from exc
    if heads != _script_heads(MIGRATIONS_DIR):
        state = "is not set up" if not heads else f"is at revision {', '.join(sorted(heads))} (older)"
        raise SetupError(f"channelsync's state store at {where} {state}{env_hint()}: {STATE_FIX}",
                         code=STATE_STORE_NOT_READY)
    return url


# --- Airflow connections ----------------------------------------------------------------------------


def connections_read(integration: IntegrationConfig, template: str) -> list[tuple[str, str, str]]:
    """(conn_id, system, what it is for) of every connection a run of ``template`` reads."""
    from channelsync.templates.registry import TEMPLATES

    psa = integration.psa
    out: list[tuple[str, str, str]] = [(psa.conn_id, psa.system, f"the {psa.system} PSA of integration "
                                                                  f"{integration.name}")]
    for distributor in TEMPLATES[template].distributors:
        configured = integration.distributors[distributor]  # type: ignore[index]
        for attribute in DISTRIBUTOR_CONNECTION.get(distributor, ("conn_id",)):
            conn_id = getattr(configured, attribute, None)
            if conn_id:
                out.append((conn_id, distributor, f"{distributor} of integration {integration.name}"))
                break
    return out


def connections(integration: IntegrationConfig, template: str) -> None:
    """Each connection the run reads is defined in Airflow and its host accepts connections."""
    from airflow.models import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    from channelsync.hooks.base import CONNECTION_MISSING, missing_connection_message

    for conn_id, _system, what in connections_read(integration, template):
        try:
            connection = Connection.get_connection_from_secrets(conn_id)
        except AirflowNotFoundException as exc:
            raise SetupError(missing_connection_message(conn_id, what) + env_hint(), code=CONNECTION_MISSING) from exc
        extra = connection.extra_dejson or {}
        urls = [connection.host, extra.get("flatfile_url"), extra.get("token_url")]
        for url in (str(u) for u in urls if u):
            reachable(url, conn_id)


def reachable(url: str, conn_id: str) -> None:
    """A TCP connection to the URL's host and port opens (skipped when a proxy would carry it)."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    host = parts.hostname
    if not host:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if urllib.request.getproxies().get(parts.scheme) and not urllib.request.proxy_bypass(host):
        return
    shown = f"{parts.scheme}://{host}:{port}{parts.path}"
    try:
        socket.create_connection((host, port), timeout=REACH_TIMEOUT).close()
        return
    except socket.gaierror:
        problem = f"the name {host} does not resolve"
    except ConnectionRefusedError:
        problem = "connection refused"
    except TimeoutError:
        problem = f"no answer within {REACH_TIMEOUT:g} s"
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
    if _loopback(host):
        fix = (f"is the sandbox running? Start it with `channelsync sandbox serve --port {port}` (or `make demo`), "
               "or load connections for the sandbox you run with `channelsync airflow load-settings --sandbox-url URL`")
    else:
        fix = f"check the host of the connection (`airflow connections get {conn_id}`)"
    raise SetupError(f"cannot reach {shown}, the host of Airflow connection {conn_id!r}: {problem}; {fix}",
                     code=CONNECTION_UNREACHABLE)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_error_line(error: ConfigError) -> str:
    """A bad integrations file: the validator's message, and how to check the fix."""
    text = str(error)
    if text.endswith("file not found"):
        return f"{text}: point CHANNELSYNC_CONFIG (or --file) at the integrations file"
    return text if "config check" in text else f"{text}; {CONFIG_FIX}"
