"""Exactly once under faults: POs submitted with the worker dying at each step of the protocol — before the
send, after the send but before the ledger knows, after the ledger but before the PSA write-back — while
TD SYNNEX and the PSA answer 10 % 5xx and 5 % timeouts and TD SYNNEX loses 5 % of its PO answers after
taking the order; then reruns until quiet. Counted from TD SYNNEX's own order store: every PO is there
exactly once (0 lost, 0 duplicate orders), no resubmission of a known PO number ever reached TD SYNNEX,
and every PSA PO carries its distributor order number. The same with a second integration on the same
PSA and TD SYNNEX account running at the same time (separate processes).

40 POs keep this inside CI's budget; ``benchmarks/bench_orders.py`` runs the same protocol at scale.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
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
from tests.e2e.orders_probe import INTEGRATIONS, SYSTEM, OrderDesk, tds_duplicate_submissions, tds_orders

ROOT = Path(__file__).resolve().parents[2]
COUNT = 40
RACE_COUNT = 24  # two processes: most of that test's time is their start (Airflow hooks, GX)
MAX_RERUNS = 8
STEPS = ("before_send", "after_send", "before_writeback")


class Crash(BaseException):
    """The worker dies here (a BaseException: nothing in channelsync catches it, as nothing catches a kill)."""


class Crasher:
    """Dies at the ``at``-th time a step is reached, once."""

    def __init__(self) -> None:
        self.armed: tuple[str, int] | None = None
        self.seen: Counter[str] = Counter()

    def arm(self, step: str, at: int) -> None:
        self.armed, self.seen = (step, at), Counter()

    def reach(self, step: str) -> None:
        self.seen[step] += 1
        if self.armed == (step, self.seen[step]):
            self.armed = None
            raise Crash(step)


def faults(system: str, *, dropped_po_answers: bool) -> list[dict[str, Any]]:
    """10 % 5xx and 5 % timeouts (rules fire in order, at most one per request: later probabilities are
    conditional on the earlier ones not firing), and on TD SYNNEX 5 % of PO answers lost after the write."""
    rules: list[dict[str, Any]] = []
    left = 1.0
    if dropped_po_answers:
        rules.append({"kind": "write_then_drop", "system": system, "method": "POST", "path": "SynnexXML/PO$",
                      "probability": 0.05})
        left -= 0.05
    rules.append({"kind": "status", "status": 503, "system": system, "probability": 0.10 / left})
    left -= 0.10
    rules.append({"kind": "timeout", "timeout_s": 0.2, "system": system, "probability": 0.05 / left})
    return rules


class Runner:
    """Runs submit_orders of an integration in-process, with short retry waits and the crash points."""

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

            def crashing_post(service: str, root: Any, *, idempotent: bool) -> Any:
                if service == "PO":
                    crasher.reach("before_send")
                answer = post(service, root, idempotent=idempotent)
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

    def run(self, integration: str) -> dict[str, Any]:
        self.count += 1
        config = self.config.get(integration)
        spec = TEMPLATES["submit_orders"]
        context = RunContext(
            integration=config, template="submit_orders",
            options=spec.options_model.model_validate(config.templates["submit_orders"].options),
            run_key=f"faults/{integration}/{self.count}", state_url=self.state_url, client_factory=self.factory)
        try:
            return run_in_process(context, load_object(spec.steps)())
        except Crash as crash:
            # What Airflow does with a task whose worker died: the attempt fails, the report closes the run.
            with session_scope(self.state_url) as session:
                session.execute(update(SyncRun).where(SyncRun.status == "running").values(status="failure"))
            return {"status": "crashed", "step": str(crash), "plan": {}, "counts": {}}

    def until_quiet(self, *integrations: str) -> list[dict[str, Any]]:
        summaries = []
        for _ in range(MAX_RERUNS):
            rounds = [self.run(name) for name in integrations]
            summaries.extend(rounds)
            if all(s["status"] in ("success", "no_change") and not (s.get("plan") or {}).get("submit")
                   and not s["counts"].get("failed") and not s["counts"].get("deferred") for s in rounds):
                return summaries
        raise AssertionError(f"not quiet after {MAX_RERUNS} reruns: {summaries[-len(integrations):]}")


def assert_each_po_ordered_once(control: SandboxControl, desk: OrderDesk, numbers: list[str]) -> None:
    orders = tds_orders(control)
    assert sorted(orders) == sorted(numbers), (sorted(set(numbers) - set(orders)), sorted(set(orders) - set(numbers)))
    assert tds_duplicate_submissions(control) == Counter()
    psa = {n: desk.order(n) for n in numbers}
    wrong = {n: (po["status"], po["order_number"]) for n, po in psa.items()
             if (po["status"], po["order_number"]) != ("Submitted", orders[n]["items"][0]["orderNumber"])}
    assert wrong == {}, wrong


def fired_faults(control: SandboxControl) -> Counter[str]:
    fired: Counter[str] = Counter()
    for rule in control.faults():
        fired[rule["kind"]] += int(rule["fired"])
    return fired


def _twin_config(tmp_path: Path, integration: str) -> Path:
    config = yaml.safe_load((ROOT / "config" / "integrations.yaml").read_text())
    original = next(i for i in config["integrations"] if i["name"] == integration)
    config["integrations"] = [original, {**original, "name": f"{integration}-twin"}]
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_crashes_at_each_step_and_a_fault_mix_lose_and_double_no_order(
    sandbox: SandboxControl, sandbox_server: SandboxServer, state_store: str, integration: str
) -> None:
    desk = OrderDesk(sandbox, integration, sandbox_server.url)
    numbers = desk.make_valid(COUNT, lines=2)
    crasher = Crasher()
    runner = Runner(sandbox_server, state_store, ROOT / "config" / "integrations.yaml", crasher)
    sandbox.set_faults(*faults("tdsynnex", dropped_po_answers=True), *faults(SYSTEM[integration],
                                                                              dropped_po_answers=False))
    crashed = []
    for n, step in enumerate(STEPS):
        crasher.arm(step, at=3 + 2 * n)
        crashed.append(runner.run(integration)["status"])
    assert crashed.count("crashed") >= 2, crashed  # a fault may end a run before its crash point
    reruns = runner.until_quiet(integration)
    fired = fired_faults(sandbox)
    print(f"crash runs {crashed}; {len(reruns)} rerun(s) until quiet; faults fired {fired}")
    assert all(fired[kind] > 0 for kind in ("write_then_drop", "status", "timeout")), fired
    sandbox.clear_faults()
    final = runner.run(integration)
    assert final["status"] == "no_change", final
    assert_each_po_ordered_once(sandbox, desk, numbers)


def test_two_integrations_on_one_psa_and_account_race_and_order_each_po_once(
    sandbox: SandboxControl, sandbox_server: SandboxServer, state_store: str, tmp_path: Path
) -> None:
    integration = "demo-connectwise"
    desk = OrderDesk(sandbox, integration, sandbox_server.url)
    numbers = desk.make_valid(RACE_COUNT, lines=1)
    config = _twin_config(tmp_path, integration)
    sandbox.set_faults(*faults("tdsynnex", dropped_po_answers=True), *faults("connectwise", dropped_po_answers=False))
    start_at = time.time() + 3.0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    racing = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.run_integration", "--config", str(config), "--integration", name,
             "--template", "submit_orders", "--sandbox-url", sandbox_server.url, "--state-url", state_store,
             "--start-at", str(start_at), "--short-retry-waits"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in (integration, f"{integration}-twin")
    ]
    summaries = []
    for process in racing:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-3000:]
        summaries.append(json.loads(stdout.strip().splitlines()[-1]))
    # Both planned (nearly) every PO; between them each was submitted once, the other linked or waited.
    assert all(s["plan"].get("submit", 0) > 0 for s in summaries), summaries
    runner = Runner(sandbox_server, state_store, config, Crasher())
    reruns = runner.until_quiet(integration, f"{integration}-twin")
    print(f"racing runs {[(s['status'], s['counts']) for s in summaries]}; {len(reruns)} rerun(s); "
          f"faults fired {fired_faults(sandbox)}")
    sandbox.clear_faults()
    assert_each_po_ordered_once(sandbox, desk, numbers)
