"""DAG tests parse the real dags/ folder with a given integrations file."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = ROOT / "dags"
DEMO_CONFIG = ROOT / "config" / "integrations.yaml"


@pytest.fixture()
def dagbag(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("CHANNELSYNC_CONFIG", str(DEMO_CONFIG))
    return DagBag(dag_folder=str(DAGS_FOLDER))
