"""A template run in the test's own process against the profile's sandbox and state store: the set-up a
system test needs before the runs it watches (the services billing posts to, the catalog items an order
uses), made in seconds instead of a DAG run's half minute. The same stage functions the DAG tasks call
(``run_in_process``, as :func:`tests.system.psa_state.reference_state` runs them)."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from channelsync.config import load_config
from channelsync.connections import SettingsClientFactory, connections_from_settings
from channelsync.imports import load_object
from channelsync.runs.context import RunContext
from channelsync.runs.runner import run_in_process
from channelsync.templates.registry import TEMPLATES

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (a value) or unset (None) environment variables for the block; restored afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_here(config_path: Path, sandbox_url: str, state_url: str, template: str, integration: str,
             fernet_key: str) -> dict[str, Any]:
    """Run ``template`` of ``integration`` once; returns its summary. Staging goes to a folder of its own;
    ``fernet_key``: the profile's (the state store's rotating credentials are encrypted with it)."""
    spec, config = TEMPLATES[template], load_config(config_path).get(integration)
    with tempfile.TemporaryDirectory(prefix="channelsync-setup-") as folder, environment(
            CHANNELSYNC_HOME=folder, CHANNELSYNC_STAGING_URL=None, AIRFLOW__CORE__FERNET_KEY=fernet_key):
        connections = connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=sandbox_url)
        context = RunContext(
            integration=config, template=template,
            options=spec.options_model.model_validate(config.templates[template].options),
            run_key=f"setup/{uuid.uuid4().hex[:8]}", state_url=state_url,
            client_factory=SettingsClientFactory(connections, state_url=state_url),
        )
        summary: dict[str, Any] = run_in_process(context, load_object(spec.steps)())
        return summary
