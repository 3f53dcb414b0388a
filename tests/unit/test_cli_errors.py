"""An exception reaching the command line becomes one line naming the fix (or None: a bug)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from channelsync.cli.errors import explain
from channelsync.config import load_config
from channelsync.errors import ConfigError


def _missing(table: str) -> OperationalError:
    return OperationalError(f"SELECT * FROM {table}", {}, sqlite3.OperationalError(f"no such table: {table}"))


def test_a_missing_airflow_table_points_at_airflow_db_migrate() -> None:
    line = explain(_missing("task_instance"))
    assert line is not None and "Airflow's metadata database" in line and "airflow db migrate" in line
    assert "\n" not in line and "SELECT" not in line


def test_a_missing_state_table_points_at_channelsync_db_upgrade() -> None:
    line = explain(_missing("sync_runs"))
    assert line is not None and "state store" in line and "channelsync db upgrade" in line


def test_config_errors_are_one_line_with_the_check_command(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("integrations: [\n  - name: x\n    psa: {system: autotask")
    with pytest.raises(ConfigError) as error:
        load_config(bad)
    line = explain(error.value)
    assert line is not None and "\n" not in line and "not valid YAML" in line and "channelsync config check" in line
    with pytest.raises(ConfigError) as missing:
        load_config(tmp_path / "absent.yaml")
    assert "CHANNELSYNC_CONFIG" in (explain(missing.value) or "")


def test_an_unexpected_error_is_not_explained() -> None:
    assert explain(ZeroDivisionError("division by zero")) is None
