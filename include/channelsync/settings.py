"""Where channelsync keeps things, from the environment (the Makefile sets these for the demo).

- ``CHANNELSYNC_HOME``: working directory for the SQLite state store and staged files (default
  ``~/.channelsync``).
- ``CHANNELSYNC_STATE_URL``: SQLAlchemy URL of the state store; otherwise the Airflow connection
  ``channelsync_state`` when Airflow has one; otherwise ``sqlite:///$CHANNELSYNC_HOME/state.db``.
- ``CHANNELSYNC_CONFIG``: the integrations file (default ``config/integrations.yaml`` of the checkout).
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_CONN_ID = "channelsync_state"
REPO_ROOT = Path(__file__).resolve().parents[2]


def home() -> Path:
    path = Path(os.environ.get("CHANNELSYNC_HOME") or Path.home() / ".channelsync")
    path.mkdir(parents=True, exist_ok=True)
    return path


def staging_dir() -> Path:
    path = home() / "staging"
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_path() -> Path:
    return Path(os.environ.get("CHANNELSYNC_CONFIG") or REPO_ROOT / "config" / "integrations.yaml")


def state_url() -> str:
    explicit = os.environ.get("CHANNELSYNC_STATE_URL")
    if explicit:
        return explicit
    from_airflow = _airflow_state_url()
    if from_airflow:
        return from_airflow
    return f"sqlite:///{home() / 'state.db'}"


def _airflow_state_url() -> str | None:
    """The ``channelsync_state`` Airflow connection as a SQLAlchemy URL, when Airflow defines it."""
    if not os.environ.get("AIRFLOW_HOME") and not os.environ.get(f"AIRFLOW_CONN_{STATE_CONN_ID.upper()}"):
        return None
    try:
        from airflow.sdk import BaseHook
    except ImportError:
        return None
    try:
        connection = BaseHook.get_connection(STATE_CONN_ID)
    except Exception:  # not defined: the SQLite default applies
        return None
    uri: str = connection.get_uri()
    return uri.replace("postgres://", "postgresql://", 1)
