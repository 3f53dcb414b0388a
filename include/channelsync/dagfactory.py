"""Configuration in, DAG objects out. Called by the one thin file in ``dags/``.

No network, database, Variable or Connection access here; pandas and GX are never imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from channelsync import settings
from channelsync.config import load_config


def build_dags(config_path: Path | None = None) -> dict[str, Any]:
    """One DAG per (integration, enabled template). A bad file raises one ConfigError: no partial set."""
    from channelsync.templates.dag_builder import build_dag, build_watcher_dag

    config = load_config(config_path or settings.config_path())
    dags: dict[str, Any] = {}
    for integration in config.integrations:
        for name, template in integration.templates.items():
            if template.enabled:
                dag = build_dag(integration, name, template)
                dags[dag.dag_id] = dag
                watcher = build_watcher_dag(integration, name, template)
                if watcher is not None:
                    dags[watcher.dag_id] = watcher
    return dags
