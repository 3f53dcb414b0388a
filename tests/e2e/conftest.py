"""End-to-end fixtures: the sandbox over HTTP, a fresh SQLite state store, the demo integrations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from channelsync.config import load_config
from channelsync.connections import SettingsClientFactory, connections_from_settings
from channelsync.imports import load_object
from channelsync.runs.context import RunContext
from channelsync.runs.runner import run_in_process
from channelsync.sandbox.control_client import WRITE_METHODS, SandboxControl
from channelsync.sandbox.server import SandboxServer
from channelsync.state.db import upgrade
from channelsync.templates.registry import TEMPLATES
from tests.state.conftest import POSTGRES_URL, postgres_database

ROOT = Path(__file__).resolve().parents[2]

RunTemplate = Callable[..., dict[str, Any]]


@pytest.fixture()
def state_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLite by default; a test marked ``state_backend("postgresql")`` gets a throw-away PostgreSQL database."""
    monkeypatch.setenv("CHANNELSYNC_HOME", str(tmp_path / "home"))
    marker = request.node.get_closest_marker("state_backend")
    if marker and marker.args[0] == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("CHANNELSYNC_TEST_POSTGRES_URL is not set")
        urls: Iterator[str] = postgres_database()
    else:
        urls = iter([f"sqlite:///{tmp_path / 'state.db'}"])
    url = next(urls)
    monkeypatch.setenv("CHANNELSYNC_STATE_URL", url)
    upgrade(url)
    yield url
    for _ in urls:  # drops the PostgreSQL database
        pass


@pytest.fixture()
def run_template(sandbox_server: SandboxServer, state_store: str) -> RunTemplate:
    """Run a demo integration's template in-process (the same stage functions the DAG tasks call)."""
    config = load_config(ROOT / "config" / "integrations.yaml")
    connections = connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=sandbox_server.url)
    counter = {"n": 0}

    def run(template: str, integration: str, *, preview: bool = False, params: dict[str, Any] | None = None,
            load_tasks: int = 1, **option_overrides: Any) -> dict[str, Any]:
        counter["n"] += 1
        spec = TEMPLATES[template]
        integration_config = config.get(integration)
        options = {**integration_config.templates[template].options, **option_overrides}
        context = RunContext(
            integration=integration_config, template=template, options=spec.options_model.model_validate(options),
            run_key=f"test/{template}/{counter['n']}", preview=preview, params=dict(params or {}),
            state_url=state_store,
            client_factory=SettingsClientFactory(connections, state_url=state_store),
        )
        return run_in_process(context, load_object(spec.steps)(), load_tasks=load_tasks)

    return run


def writes(control: SandboxControl, system: str, since: int = 0) -> list[dict[str, Any]]:
    """Write calls the PSA emulator received (Autotask POST queries are reads)."""
    return [
        entry for entry in control.requests(system, since=since)
        if entry["method"] in WRITE_METHODS and not entry["path"].lower().rstrip("/").endswith(("/query", "/count"))
        and "/query/" not in entry["path"].lower()
    ]


def last_seq(control: SandboxControl) -> int:
    entries = control.requests()
    return entries[-1]["seq"] if entries else 0
