"""Autotask's limits across workers (issue 13): two integrations on one Autotask database — demo-autotask and
demo-autotask-twin, the same catalog on the same connection (tests/system/profile.py) — their catalog loads
running at the same time on different workers (each pinned through Celery's remote control), with an hourly
threshold so low that their budget guards must stop them.

Counted by the sandbox itself: never more than 3 calls in flight per entity (its high-water marks, and no
thread-limit refusal), the hourly threshold never reached (no threshold refusal, the hour's count within
it). Both plan on the same PSA state (as two schedules at the same minute would); the guards leave work
undone; once the hour has passed (the sandbox clock moved on) later runs finish it: exactly one product
per SKU, the products a single run makes on a fresh sandbox.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from channelsync.sandbox.control_client import SandboxControl
from channelsync.templates.dag_builder import dag_id_for
from tests.system.airflow_api import AirflowApi
from tests.system.profile import TWIN, CeleryProfile
from tests.system.psa_state import differences, psa_state, reference_state
from tests.system.state_probe import ledger_by_status, unsettled_operations

pytestmark = pytest.mark.airflow
INTEGRATIONS = ("demo-autotask", TWIN)
# ~480 calls make the catalog; each guard stops at 50 % of the threshold, so one hour's budget cannot.
HOURLY_THRESHOLD = 600
WRITE_LATENCY_MS = 250  # the first loads overlap: ~25 s each
PRODUCT_WRITES = r"/Products(/\d+/Vendors)?/?$"
MAX_ROUNDS = 4
POOL = "autotask_api"
RUN_TIMEOUT_S = 300
T = TypeVar("T")


def _wait_for(what: str, timeout_s: float, probe: Callable[[], T | None]) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s} s")
        time.sleep(0.5)


def _limits(control: SandboxControl) -> dict[str, Any]:
    result: dict[str, Any] = control.control("autotask", "limits", method="GET")
    return result


def _products(control: SandboxControl) -> Counter[str]:
    return Counter(str(p["sku"]) for p in control.records("autotask", "Products") if p.get("sku"))


@pytest.mark.timeout(900)
def test_two_integrations_on_one_autotask_database_on_two_workers_stay_within_its_limits(
    celery_profile: CeleryProfile, profile_sandbox: SandboxControl, airflow_api: AirflowApi
) -> None:
    celery_profile.reset_state_store()
    dag_ids = [dag_id_for(name, "catalog_sync") for name in INTEGRATIONS]
    airflow_api.wait_for_dags(dag_ids)
    for dag_id in dag_ids:
        airflow_api.unpause(dag_id)
    expected, _ = reference_state([("catalog_sync", "demo-autotask")], celery_profile.config_path,
                                  systems=("autotask",), tdsynnex_tables=())
    wanted = sum(1 for row in expected["autotask/Products"] if json.loads(row).get("sku"))  # as _products counts
    profile_sandbox.control("autotask", "limits", json={"hourly_threshold": HOURLY_THRESHOLD, "latency_50_s": 0,
                                                        "latency_75_s": 0, "reset_counters": True})
    profile_sandbox.set_faults({"kind": "latency", "system": "autotask", "method": "POST", "path": PRODUCT_WRITES,
                                "latency_ms": WRITE_LATENCY_MS})
    workers = sorted(celery_profile.workers)
    prefix = f"limits__{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    rounds: list[dict[str, Any]] = []
    triggered: list[tuple[str, str]] = []
    pool_size = airflow_api.set_pool_slots(POOL, 2)  # room for both reconciles (1 slot each), for no load (3)
    try:
        # Round 1: both plan on the same PSA state, then each load on its own worker, the second starting while
        # the first writes. The loads wait for pool slots until both plans are made; then the pool grows by
        # one load at a time, and only the chosen worker takes tasks from the queue.
        runs = [(dag_id, f"{prefix}__1__{n}") for n, dag_id in enumerate(dag_ids)]
        for run in runs:
            airflow_api.trigger(*run)
            triggered.append(run)

        def planned() -> bool:
            states = [{ti["task_id"]: ti["state"] for ti in airflow_api.task_instances(*run)} for run in runs]
            assert all(s.get("reconcile") != "failed" for s in states), states
            return all(s.get("reconcile") == "success" for s in states)

        _wait_for("both plans", 180, planned)
        pinned: list[dict[str, Any]] = []
        for n, worker in enumerate(workers):
            for other in workers:
                celery_profile.consume(other, on=other == worker)
            airflow_api.set_pool_slots(POOL, 3 * (n + 1))

            def load_on(worker: str = worker) -> dict[str, Any] | None:
                for run in runs:
                    loads = [ti for ti in airflow_api.loads(*run) if ti["state"] == "running" and ti.get("pid")
                             and ti["dag_id"] not in {p["dag_id"] for p in pinned}]
                    if loads and celery_profile.worker_running(int(loads[0]["pid"])) == worker:
                        return loads[0]
                return None

            pinned.append({**_wait_for(f"a load running on {worker}", 120, load_on), "worker": worker})
        first = next(ti for ti in airflow_api.loads(pinned[0]["dag_id"], pinned[0]["dag_run_id"]))
        assert first["state"] == "running", f"the first load ended before the second began: {first['state']}"
        for worker in workers:
            celery_profile.consume(worker, on=True)
        airflow_api.wait_for_runs(runs, timeout_s=RUN_TIMEOUT_S)
        profile_sandbox.clear_faults()
        rounds.append({"runs": runs, "limits": _limits(profile_sandbox), "products": sum(_products(profile_sandbox)
                                                                                          .values())})
        # Later rounds: past the hour, both again (anywhere), until the catalog is complete.
        while len(rounds) < MAX_ROUNDS and rounds[-1]["products"] < wanted:
            profile_sandbox.advance_clock(seconds=3601)
            runs = [(dag_id, f"{prefix}__{len(rounds) + 1}__{n}") for n, dag_id in enumerate(dag_ids)]
            for run in runs:
                airflow_api.trigger(*run)
                triggered.append(run)
            airflow_api.wait_for_runs(runs, timeout_s=RUN_TIMEOUT_S)
            rounds.append({"runs": runs, "limits": _limits(profile_sandbox),
                           "products": sum(_products(profile_sandbox).values())})
    finally:
        for worker in workers:
            celery_profile.consume(worker, on=True)
        profile_sandbox.clear_faults()
        airflow_api.set_pool_slots(POOL, pool_size)
        with contextlib.suppress(TimeoutError):  # after a failure: no run of this test goes on into the next
            airflow_api.wait_for_runs(triggered, timeout_s=RUN_TIMEOUT_S)
    seconds = round(time.monotonic() - started, 1)

    # The loads of round 1 ran on different workers, at the same time (checked above as they started).
    assert [ti["worker"] for ti in pinned] == workers
    assert {ti["dag_id"] for ti in pinned} == set(dag_ids), pinned
    # The threshold was never reached: no refusal; each hour's count within it (the clock moved a full
    # hour between rounds, so each round's count is that round's calls).
    for number, found in enumerate(rounds, start=1):
        assert found["limits"]["refusals"] == {"thread_limit": 0, "threshold": 0}, (number, found["limits"])
        assert found["limits"]["current_timeframe_request_count"] <= HOURLY_THRESHOLD, (number, found["limits"])
    # ... because the guards stopped the work: round 1 left products undone.
    assert rounds[0]["products"] < wanted, rounds[0]
    # Never more than 3 calls in flight per entity, whichever integration or worker sent them.
    high_water = profile_sandbox.concurrency()
    assert max(high_water.get("autotask", {}).values(), default=0) <= 3, high_water
    threads = rounds[-1]["limits"]["max_in_flight"]  # per (integration code, entity)
    assert max(threads.values(), default=0) <= 3, threads

    # Later runs finished it: the last round's runs succeeded; one product per SKU, as one run makes them.
    finals = {run: airflow_api.dag_run(*run)["state"] for run in rounds[-1]["runs"]}
    assert set(finals.values()) == {"success"}, finals
    per_sku = _products(profile_sandbox)
    assert [sku for sku, n in per_sku.items() if n > 1] == []
    catalog = ("autotask/Products", "autotask/ProductVendors")
    actual = psa_state(profile_sandbox, ("autotask",), ())
    assert differences({k: actual[k] for k in catalog}, {k: expected[k] for k in catalog}) == {}
    assert unsettled_operations(celery_profile.state_url) == []

    print(f"\nlimits across workers: {len(rounds)} rounds in {seconds} s; round 1 loads on "
          f"{[(ti['dag_id'], ti['worker']) for ti in pinned]}; calls per round "
          f"{[r['limits']['current_timeframe_request_count'] for r in rounds]} (threshold {HOURLY_THRESHOLD}); "
          f"products per round {[r['products'] for r in rounds]} of {wanted}; sandbox high-water marks {high_water}; "
          f"Autotask thread high-water { {k.split('|', 1)[-1]: n for k, n in threads.items()} }; "
          f"ledger {ledger_by_status(celery_profile.state_url)}")
