"""Autotask's 3 threads per (database, integration code, entity) hold across OS processes when the
client is built with a state store (state/leases.py), as two Airflow tasks on one database need.

Two worker processes, 6 threads each, call one sandbox; the emulator holds each request in flight
(``processing_ms``) so overlaps are real. The sandbox's own high-water marks per entity and its
thread-limit refusals are the evidence, not the client's view.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from channelsync.clients.autotask import AutotaskClient
from channelsync.connections import ConnectionFields
from channelsync.runs.context import client_from_connection
from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from channelsync.state import db
from channelsync.state.leases import LeaseCap
from tests.state.conftest import POSTGRES_URL, postgres_database

WORKER = Path(__file__).with_name("at_worker.py")
ROOT = Path(__file__).resolve().parents[3]
CREDS = demo_credentials.AUTOTASK


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
        db.upgrade(url)
        yield url
        return
    if not POSTGRES_URL:
        pytest.skip("CHANNELSYNC_TEST_POSTGRES_URL is not set")
    for url in postgres_database():
        db.upgrade(url)
        yield url


def run_two_tasks(sandbox_url: str, state_url: str | None) -> list[dict[str, Any]]:
    args = [sys.executable, str(WORKER), sandbox_url] + ([state_url] if state_url else [])
    workers = [subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
               for _ in range(2)]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        out = []
        for worker in workers:
            assert worker.stdout is not None
            out.append(json.loads(worker.stdout.readline()))
            assert worker.wait(timeout=120) == 0
        return out
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)


def prepare(sandbox: SandboxControl) -> None:
    sandbox.control("autotask", "limits", json={"processing_ms": 40, "reset_counters": True})
    sandbox.reset_concurrency()


def test_two_processes_with_leases_never_pass_three_threads_per_entity(
    sandbox: SandboxControl, sandbox_server: SandboxServer, state_url: str,
) -> None:
    prepare(sandbox)
    outcome = run_two_tasks(sandbox_server.url, state_url)
    assert [r["errors"] for r in outcome] == [[], []]
    assert {r["cap"] for r in outcome} == {"LeaseCap"}
    limits = sandbox.control("autotask", "limits")
    assert limits["refusals"]["thread_limit"] == 0
    peaks = sandbox.concurrency()["autotask"]
    assert peaks["products"] == 3  # reached by the two processes together, never passed
    assert all(peak <= 3 for peak in peaks.values()), peaks
    assert peaks.get("companies", 0) >= 1


def test_control_without_leases_two_processes_trip_the_limit(
    sandbox: SandboxControl, sandbox_server: SandboxServer,
) -> None:
    """The same load with the in-process caps only: each process keeps to 3, together they send more."""
    prepare(sandbox)
    run_two_tasks(sandbox_server.url, None)
    assert sandbox.concurrency()["autotask"]["products"] > 3
    assert sandbox.control("autotask", "limits")["refusals"]["thread_limit"] > 0


def test_tenant_id_is_the_database_from_zone_information(
    make_client: Callable[..., AutotaskClient], sandbox: SandboxControl, sandbox_server: SandboxServer, calls: Any,
) -> None:
    client = make_client()
    client.get("Products", 1)
    zone = sandbox.session.get(f"{sandbox_server.url}/autotask/atservicesrest/v1.0/zoneInformation",
                               params={"user": CREDS["username"]}, timeout=5).json()
    assert client.tenant_id == f"autotask:{zone['ci']}"
    assert len(calls("zoneInformation")) == 2  # the client's discovery and the test's: no second discovery


def test_a_state_url_gives_the_lease_cap_keyed_by_tenant_code_and_entity(
    sandbox: SandboxControl, sandbox_server: SandboxServer, state_url: str,
) -> None:
    connection = ConnectionFields(
        conn_id="autotask_x", host=f"{sandbox_server.url}/autotask", login=CREDS["username"],
        password=CREDS["secret"], extra_dejson={"integration_code": CREDS["integration_code"]},
    )
    client = client_from_connection("autotask", connection, state_url=state_url)
    assert isinstance(client.cap, LeaseCap) and client.cap.limit == 3
    client.get("Products", 1)
    key = client._slot_key(client.api_url + "Products/1")
    assert key.startswith(f"{client.tenant_id}|") and key.endswith("|products")
    assert CREDS["integration_code"] not in key  # a digest of the code, not the code
    assert client.cap.store.holders(key) == {0: client.cap.store.holder}  # sticky until released
    client.release_slots()
    assert client.cap.store.holders(key) == {}
    without = client_from_connection("autotask", connection, state_url=None)
    assert not isinstance(without.cap, LeaseCap)
