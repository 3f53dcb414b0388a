"""What the exactly-once fault tests share (orders and billing): crash points, the fault mix, and a runner
that runs a template of an integration in-process with short retry waits.

- :class:`Crasher`: the worker dies (:class:`Crash`) at chosen arrivals at a protocol step;
- :func:`fault_mix`: 10 % 5xx and 5 % timeouts on every request of a system, plus dropped answers on
  the paths given, each at its own overall rate;
- :class:`Runner`: a template run of an integration (``run``), all stages in one process; a crash ends the
  run as a killed worker ends its Airflow task: the attempt fails and the report closes the run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import update

from channelsync.clients.connectwise.domain import PURCHASE_ORDERS
from channelsync.clients.http import RetryPolicy
from channelsync.config import load_config
from channelsync.connections import SettingsClientFactory, connections_from_settings
from channelsync.imports import load_object
from channelsync.runs.context import RunContext
from channelsync.runs.runner import run_in_process
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from channelsync.state.db import session_scope
from channelsync.state.models import SyncRun
from channelsync.templates.registry import TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
SERVER_ERROR_RATE, TIMEOUT_RATE = 0.10, 0.05


class Crash(BaseException):
    """The worker dies here (a BaseException: nothing in channelsync catches it, as nothing catches a kill)."""


class Crasher:
    """Dies at chosen arrivals at a step: ``arm(step, at)`` once, at the ``at``-th arrival; or
    ``arm_every(steps, every)`` at every ``every``-th arrival at each step, from the 3rd, 5th, 7th … for
    the first, second, third step (so the crashes hit different POs). ``crashed`` counts them per step."""

    def __init__(self) -> None:
        self.once: dict[str, int] = {}
        self.every: dict[str, tuple[int, int]] = {}  # step -> (period, first arrival)
        self.seen: Counter[str] = Counter()
        self.crashed: Counter[str] = Counter()

    def arm(self, step: str, at: int) -> None:
        self.once, self.every, self.seen = {step: at}, {}, Counter()

    def arm_every(self, steps: Iterable[str], every: int) -> None:
        self.once, self.seen = {}, Counter()
        self.every = {step: (every, 3 + 2 * n) for n, step in enumerate(steps)}

    def disarm(self) -> None:
        self.once, self.every = {}, {}

    def reach(self, step: str) -> None:
        self.seen[step] += 1
        arrival = self.seen[step]
        period, first = self.every.get(step, (0, 0))
        if self.once.get(step) == arrival:
            del self.once[step]  # once
        elif not (period and arrival >= first and (arrival - first) % period == 0):
            return
        self.crashed[step] += 1
        raise Crash(step)


def fault_mix(system: str, drops: Iterable[tuple[str, str, str, float]] = (), *, timeout_s: float = 0.2
              ) -> list[dict[str, Any]]:
    """10 % 5xx and 5 % timeouts (held ``timeout_s``, then the connection closed unanswered) on every
    request of ``system``, and each of ``drops`` — (kind, method, path regex, overall rate): ``drop`` (the
    answer never comes and nothing was done) or ``write_then_drop`` (done, then the answer is lost) — on its
    requests. Rules fire in order, at most one per request, so each later rule's probability is conditional
    on the earlier ones not firing."""
    rules: list[dict[str, Any]] = [
        {"kind": "status", "status": 503, "system": system, "probability": SERVER_ERROR_RATE},
        {"kind": "timeout", "timeout_s": timeout_s, "system": system,
         "probability": TIMEOUT_RATE / (1 - SERVER_ERROR_RATE)},
    ]
    left = 1 - SERVER_ERROR_RATE - TIMEOUT_RATE
    for kind, method, path, rate in drops:
        rules.append({"kind": kind, "system": system, "method": method, "path": path, "probability": rate / left})
        left -= rate
    return rules


def fired_faults(control: SandboxControl) -> Counter[str]:
    """How often each kind of fault fired (the sandbox's own count), per system: ``"<system> <kind>"``."""
    fired: Counter[str] = Counter()
    for rule in control.faults():
        fired[f"{rule['system']} {rule['kind']}"] += int(rule["fired"])
    return fired


class Runner:
    """Runs templates of integrations in-process, with short retry waits and the crash points: before
    and after a TD SYNNEX XML PO is sent, and before a PSA purchase order is written."""

    def __init__(self, server: SandboxServer, state_url: str, config: Path, crasher: Crasher) -> None:
        self.state_url, self.crasher = state_url, crasher
        self.config = load_config(config)
        self.settings = SettingsClientFactory(
            connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=server.url), state_url=state_url)
        self.count = 0

    def factory(self, system: str, conn_id: str) -> Any:
        client = self.settings(system, conn_id)
        transport = getattr(client, "transport", None)
        if transport is not None:
            transport.policy = RetryPolicy(max_attempts=5, backoff_base=0.02, backoff_cap=0.1, read_timeout=5.0)
            transport.sleep = lambda seconds: time.sleep(min(seconds, 0.05))
        crasher = self.crasher
        if system == "tdsynnex_xml":
            post = client._post

            def crashing_post(service: str, root: Any, *, idempotent: bool, **kwargs: Any) -> Any:
                if service == "PO":
                    crasher.reach("before_send")
                answer = post(service, root, idempotent=idempotent, **kwargs)
                if service == "PO":
                    crasher.reach("after_send")
                return answer

            client._post = crashing_post
        elif system == "autotask":
            write = client.update

            def crashing_update(entity: str, fields: dict[str, Any]) -> int:
                if entity == "PurchaseOrders":
                    crasher.reach("before_writeback")
                return int(write(entity, fields))

            client.update = crashing_update
        elif system == "connectwise":
            patch = client.patch

            def crashing_patch(path: str, record_id: int, ops: list[dict[str, Any]]) -> Any:
                if path == PURCHASE_ORDERS:
                    crasher.reach("before_writeback")
                return patch(path, record_id, ops)

            client.patch = crashing_patch
        return client

    def context(self, integration: str, template: str) -> RunContext:
        self.count += 1
        config = self.config.get(integration)
        spec = TEMPLATES[template]
        return RunContext(
            integration=config, template=template,
            options=spec.options_model.model_validate(config.templates[template].options),
            run_key=f"faults/{template}/{integration}/{self.count}", state_url=self.state_url,
            client_factory=self.factory)

    def run(self, integration: str, template: str = "submit_orders") -> dict[str, Any]:
        context = self.context(integration, template)
        try:
            return run_in_process(context, load_object(TEMPLATES[template].steps)())
        except Crash as crash:
            # What Airflow does with a task whose worker died: the attempt fails, the report closes the run.
            with session_scope(self.state_url) as session:
                session.execute(update(SyncRun).where(SyncRun.status == "running").values(status="failure"))
            return {"status": "crashed", "step": str(crash), "plan": {}, "counts": {}}
