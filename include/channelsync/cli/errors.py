"""An exception that reached the command line → the one line a user reads (or None: a bug).

Failures a user can cause (a step of the set-up not done, a bad file, a wrong name, a server not
running) become one line that says what is wrong and the command that fixes it; ``cli/main.py`` prints
it and exits 2. Anything else is reported as unexpected (exit 1); ``--debug`` prints the traceback.
"""

from __future__ import annotations

import errno
import re

from channelsync.cli import checks
from channelsync.errors import ChannelsyncError, ConfigError

_MISSING_TABLE = re.compile(r'no such table: (\w+)|relation "(?:\w+\.)?(\w+)" does not exist')


def one_line(text: str) -> str:
    """Multi-line messages (YAML errors, SQL) folded into one line."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def explain(error: BaseException) -> str | None:
    line = _explain(error)
    return None if line is None else one_line(line)


def _explain(error: BaseException) -> str | None:
    if isinstance(error, ConfigError):
        return checks.config_error_line(error)
    if isinstance(error, ChannelsyncError):
        return str(error)
    name = type(error).__name__
    if name == "AirflowNotFoundException":  # a connection or variable Airflow does not have
        return f"{error}{checks.env_hint()}: `channelsync airflow load-settings` loads the sandbox connections"
    database = _database_error(error)
    if database is not None:
        return database
    if _is_requests_connection_error(error):
        return f"cannot reach a server: {checks.first_line(error)}; is it (or the sandbox) running?"
    if isinstance(error, OSError):
        if error.errno == errno.EADDRINUSE:
            return "the port is already in use: pass another --port, or stop what uses it"
        if isinstance(error, FileNotFoundError) and error.filename:
            return f"{error.filename}: file not found"
        if isinstance(error, PermissionError) and error.filename:
            return f"{error.filename}: permission denied"
    return None


def _database_error(error: BaseException) -> str | None:
    try:
        from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError
    except ImportError:  # pragma: no cover - SQLAlchemy is a dependency
        return None
    if isinstance(error, ArgumentError):
        return f"not a database URL: {checks.first_line(error)}"
    if not isinstance(error, OperationalError | ProgrammingError):
        return None
    text = str(getattr(error, "orig", None) or error)
    missing = _MISSING_TABLE.search(text)
    if missing:
        table = missing.group(1) or missing.group(2)
        if table in _state_tables():
            return f"channelsync's state store has no table {table}{checks.env_hint()}: {checks.STATE_FIX}"
        return f"Airflow's metadata database has no table {table}{checks.env_hint()}: {checks.AIRFLOW_FIX}"
    return f"a database could not be used: {checks.first_line(error)}{checks.env_hint()}"


def _state_tables() -> set[str]:
    try:
        from channelsync.state.models import Base
    except Exception:  # the state package failing to import is a bug, reported as such elsewhere
        return set()
    return set(Base.metadata.tables)


def _is_requests_connection_error(error: BaseException) -> bool:
    try:
        import requests
    except ImportError:  # pragma: no cover
        return False
    return isinstance(error, requests.exceptions.ConnectionError)
