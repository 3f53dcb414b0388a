"""Run one template of one integration in its own process, as a separate Airflow task process would:
``python -m tests.e2e.run_integration --config F --integration X --template T --sandbox-url U --state-url S``.
Prints the run's summary as one JSON line. Used by the tests that race two integrations."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from channelsync.clients.http import RetryPolicy
from channelsync.config import load_config
from channelsync.connections import SettingsClientFactory, connections_from_settings
from channelsync.imports import load_object
from channelsync.runs.context import RunContext
from channelsync.runs.runner import run_in_process
from channelsync.templates.registry import TEMPLATES

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--config", "--integration", "--template", "--sandbox-url", "--state-url"):
        parser.add_argument(name, required=True)
    parser.add_argument("--start-at", type=float, default=0.0, help="epoch seconds: start together")
    parser.add_argument("--short-retry-waits", action="store_true",
                        help="retry waits of at most 0.1 s (tests with random faults: the same decisions, no waiting)")
    args = parser.parse_args()
    integration = load_config(Path(args.config)).get(args.integration)
    spec = TEMPLATES[args.template]
    connections = connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=args.sandbox_url)
    settings_factory = SettingsClientFactory(connections, state_url=args.state_url)

    def factory(system: str, conn_id: str) -> Any:
        client = settings_factory(system, conn_id)
        transport = getattr(client, "transport", None)
        if args.short_retry_waits and transport is not None:
            transport.policy = RetryPolicy(max_attempts=5, backoff_base=0.02, backoff_cap=0.1, read_timeout=5.0)
            transport.sleep = lambda seconds: time.sleep(min(seconds, 0.05))
        return client

    context = RunContext(
        integration=integration, template=args.template,
        options=spec.options_model.model_validate(integration.templates[args.template].options),
        run_key=f"race/{args.integration}/{time.time_ns()}", state_url=args.state_url, client_factory=factory,
    )
    time.sleep(max(0.0, args.start_at - time.time()))
    summary = run_in_process(context, load_object(spec.steps)())
    summary.pop("error", None)
    print(json.dumps(summary, default=str))


if __name__ == "__main__":
    main()
