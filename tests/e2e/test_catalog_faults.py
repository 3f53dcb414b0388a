"""catalog_sync under a realistic fault mix ends with exactly the PSA a fault-free run leaves.

Every request to the PSA emulator meets, at random (the sandbox's fault book is seeded: rate fixed, the
exact requests hit vary with thread timing): 10 % 429 with Retry-After 1, 5 % 503, 2 % timeouts (held,
then the socket is closed), 1 % drop-after-write (applied, then no answer). The run is repeated (each a
new run: it re-plans from the PSA) until it reports no failure, at most ``MAX_RUNS`` times. The PSA must
then be identical, record by record and compared by SKU (ids and timestamps aside), to what one
fault-free run into a freshly reset sandbox leaves: products with every field, their vendor rows and
``defaultVendorID`` (Autotask), catalog items with their references (ConnectWise); and a further
fault-free run must find nothing to do.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from channelsync.clients.http import RetryPolicy
from channelsync.config import load_config
from channelsync.connections import SettingsClientFactory, connections_from_settings
from channelsync.imports import load_object
from channelsync.runs.context import RunContext
from channelsync.runs.runner import run_in_process
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from channelsync.state.db import upgrade
from channelsync.templates.registry import TEMPLATES
from tests.e2e.conftest import writes
from tests.e2e.psa_probe import PSA_TABLES

ROOT = Path(__file__).resolve().parents[2]
SEED = 42
MAX_RUNS = 6
# Marginal rates of the mix. Rules are tried in order and at most one fires per request, so each
# later rule's probability is conditional on the earlier ones not firing.
FAULT_MIX = (("status_429", 0.10), ("status_503", 0.05), ("timeout", 0.02), ("write_then_drop", 0.01))
# Fields that differ between two correct runs: record ids, server timestamps, reference metadata.
VOLATILE = frozenset({"id", "_info", "dateEntered", "lastModifiedDate", "createDate", "lastActivityDate"})


def fault_rules(system: str) -> list[dict[str, Any]]:
    rules, left = [], 1.0
    for name, rate in FAULT_MIX:
        rule: dict[str, Any] = {"system": system, "probability": rate / left}
        if name == "status_429":
            rule.update(kind="status", status=429, retry_after=1)
        elif name == "status_503":
            rule.update(kind="status", status=503)
        elif name == "timeout":
            rule.update(kind="timeout", timeout_s=1.0)
        else:
            rule.update(kind="write_then_drop")
        rules.append(rule)
        left -= rate
    return rules


class Runner:
    """Runs a demo integration's catalog_sync in-process against one state store of its own."""

    def __init__(self, server: SandboxServer, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        home.mkdir(parents=True)
        self.home, self.monkeypatch = home, monkeypatch
        self.state_url = f"sqlite:///{home / 'state.db'}"
        self._use()
        upgrade(self.state_url)
        self.config = load_config(ROOT / "config" / "integrations.yaml")
        connections = connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=server.url)
        settings_factory = SettingsClientFactory(connections, state_url=self.state_url)

        def factory(system: str, conn_id: str) -> Any:
            client = settings_factory(system, conn_id)
            transport = getattr(client, "transport", None)
            if transport is not None:
                # Short waits: the faults are random, not time-based, so waiting out Retry-After in full
                # tests nothing more; the retry decisions (what is retried, what is outcome-unknown) stay.
                transport.policy = RetryPolicy(max_attempts=5, backoff_base=0.02, backoff_cap=0.1)
                transport.sleep = lambda seconds: time.sleep(min(seconds, 0.05))
            return client

        self.factory = factory
        self.count = 0

    def _use(self) -> None:
        self.monkeypatch.setenv("CHANNELSYNC_HOME", str(self.home / "home"))
        self.monkeypatch.setenv("CHANNELSYNC_STATE_URL", self.state_url)

    def run(self, integration: str) -> dict[str, Any]:
        self._use()
        self.count += 1
        spec = TEMPLATES["catalog_sync"]
        config = self.config.get(integration)
        context = RunContext(
            integration=config, template="catalog_sync",
            options=spec.options_model.model_validate(config.templates["catalog_sync"].options),
            run_key=f"faults/{self.home.name}/{self.count}", state_url=self.state_url, client_factory=self.factory,
        )
        return run_in_process(context, load_object(spec.steps)())


def _plain(value: Any) -> Any:
    """A record without ids, timestamps and reference metadata (references compare by name/identifier)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in sorted(value.items()) if key not in VOLATILE}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def snapshot(control: SandboxControl, integration: str) -> dict[str, list[dict[str, Any]]]:
    """The PSA's products by SKU (the MPN for products without one), each with every field that a
    correct run determines; Autotask products carry their ProductVendors rows."""
    system, table, _, sku_field = PSA_TABLES[integration]
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if system == "autotask":
        vendor_rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in control.records(system, "ProductVendors"):
            vendor_rows[row["productID"]].append(_plain({k: v for k, v in row.items() if k != "productID"}))
        for product in control.records(system, table):
            record = _plain(product)
            record["vendorRows"] = sorted(vendor_rows.get(product["id"], []), key=repr)
            by_key[str(product.get(sku_field) or f"mpn:{product.get('manufacturerProductName')}")].append(record)
    else:
        for item in control.records(system, table):
            by_key[str(item.get(sku_field) or f"identifier:{item.get('identifier')}")].append(_plain(item))
    return {key: sorted(records, key=repr) for key, records in by_key.items()}


def differences(expected: dict[str, Any], actual: dict[str, Any], show: int = 10) -> list[str]:
    lines = []
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key), actual.get(key)
        if want == got:
            continue
        if want is None or got is None or len(want) != len(got):
            lines.append(f"{key}: {len(want or [])} record(s) expected, {len(got or [])} found")
            continue
        for before, after in zip(want, got, strict=True):
            fields = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
            lines.append(f"{key}: " + ", ".join(f"{n}={before.get(n)!r}→{after.get(n)!r}" for n in fields))
    return lines[:show] + ([f"... {len(lines) - show} more"] if len(lines) > show else [])


def _ok(result: dict[str, Any]) -> bool:
    counts = result.get("counts") or {}
    return result["status"] in ("success", "no_change") and not counts.get("failed") and not counts.get("deferred")


@pytest.fixture()
def runners(sandbox_server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[Callable[[str], Runner]]:
    yield lambda name: Runner(sandbox_server, tmp_path / name, monkeypatch)
    SandboxControl(sandbox_server.url).clear_faults()


@pytest.mark.parametrize("integration", ["demo-autotask", "demo-connectwise"])
def test_fault_mix_ends_identical_to_a_fault_free_run(
    sandbox_server: SandboxServer, runners: Callable[[str], Runner], integration: str
) -> None:
    system = PSA_TABLES[integration][0]
    control = SandboxControl(sandbox_server.url)

    control.reset(scale="small", seed=SEED)
    clean = runners("clean")
    baseline = clean.run(integration)
    assert _ok(baseline), baseline
    clean_writes = len(writes(control, system))
    expected = snapshot(control, integration)

    control.reset(scale="small", seed=SEED)
    faulty = runners("faulty")
    control.set_faults(*fault_rules(system))
    results = []
    for _ in range(MAX_RUNS):
        results.append(faulty.run(integration))
        if _ok(results[-1]):
            break
    faults = {rule["kind"] + (f" {rule['status']}" if rule["kind"] == "status" else ""): rule["fired"]
              for rule in control.faults()}
    seen = max(rule["seen"] for rule in control.faults())
    control.clear_faults()
    faulty_writes = len(writes(control, system))
    actual = snapshot(control, integration)

    print(f"\n{integration}: fault mix over {seen} requests, fired {faults}")
    print(f"{'':24}{'runs':>6}{'write calls':>14}")
    print(f"{'fault-free':24}{1:>6}{clean_writes:>14}")
    print(f"{'with faults':24}{len(results):>6}{faulty_writes:>14}")
    for number, result in enumerate(results, 1):
        print(f"  run {number}: {result['status']:<10} {result.get('counts')}")

    assert _ok(results[-1]), f"still failing after {MAX_RUNS} runs: {results[-1]}"
    diff = differences(expected, actual)
    assert not diff, "the PSA differs from the fault-free run:\n" + "\n".join(diff)
    assert actual == expected

    mark = control.requests(system)[-1]["seq"]
    after = faulty.run(integration)
    assert after["status"] == "no_change", after
    assert writes(control, system, since=mark) == []
