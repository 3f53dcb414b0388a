"""The budget guard stops before its share of the hourly threshold; the 3-thread cap holds under load."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from channelsync.clients.autotask import AutotaskClient, BudgetExhausted
from channelsync.clients.http import ConcurrencyCap
from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl


def limits(sandbox: SandboxControl, **settings: Any) -> dict[str, Any]:
    return sandbox.control("autotask", "limits", json=settings)


def test_budget_guard_stops_before_its_share(make_client: Callable[..., AutotaskClient],
                                             sandbox: SandboxControl, calls: Any) -> None:
    # threshold 400, share 50 % -> the guard may use the tenant's count up to 200; others used 120.
    limits(sandbox, hourly_threshold=400, latency_50_s=0, latency_75_s=0, add_usage=120)
    client = make_client(threshold_share=0.5, budget_check_every=25)
    done = 0
    with pytest.raises(BudgetExhausted) as caught:
        for _ in range(1000):
            client.get("Products", 1)
            done += 1
    assert caught.value.code == "AUTOTASK_BUDGET_GUARD"
    state = limits(sandbox)
    assert state["current_timeframe_request_count"] <= 200 and state["refusals"]["threshold"] == 0
    readings = len(calls("ThresholdInformation"))
    assert done >= 70 and readings < done / 5  # stopped close to the share, without reading every call


def test_budget_guard_sees_other_integrations(make_client: Callable[..., AutotaskClient],
                                              sandbox: SandboxControl) -> None:
    limits(sandbox, hourly_threshold=400, latency_50_s=0, latency_75_s=0)
    client = make_client(budget_check_every=10)
    for _ in range(20):
        client.get("Products", 1)
    limits(sandbox, add_usage=150)  # another integration burns most of the share meanwhile
    with pytest.raises(BudgetExhausted):
        for _ in range(50):
            client.get("Products", 1)
    assert limits(sandbox)["current_timeframe_request_count"] <= 200


def test_ensure_refuses_work_that_would_not_fit(make_client: Callable[..., AutotaskClient],
                                                sandbox: SandboxControl) -> None:
    limits(sandbox, hourly_threshold=100, add_usage=40)
    client = make_client()
    client.budget.ensure(5)
    with pytest.raises(BudgetExhausted):
        client.budget.ensure(20)


def _hammer(work: Callable[[], object], threads: int) -> list[BaseException]:
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # collected and asserted on below
            failures.append(exc)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return failures


def test_thread_cap_holds_under_ten_concurrent_callers(client: AutotaskClient, sandbox: SandboxControl) -> None:
    client.get("Products", 1)
    limits(sandbox, processing_ms=30, reset_counters=True)

    def work() -> None:
        for product_id in range(1, 6):
            client.get("Products", product_id)
        list(client.iter_query("Companies", max_records=10))

    assert _hammer(work, 10) == []
    state = limits(sandbox)
    assert state["refusals"]["thread_limit"] == 0
    code = demo_credentials.AUTOTASK["integration_code"]
    assert state["max_in_flight"][f"{code}|products"] == 3  # the cap was reached, never passed


def test_without_the_cap_the_emulator_refuses(make_client: Callable[..., AutotaskClient],
                                              sandbox: SandboxControl) -> None:
    """Control experiment: the same load with a cap of 10 does trip Autotask's limit."""
    client = make_client(cap=ConcurrencyCap(10))
    client.get("Products", 1)
    limits(sandbox, processing_ms=50, reset_counters=True)
    _hammer(lambda: client.get("Products", 1), 10)
    assert limits(sandbox)["refusals"]["thread_limit"] > 0
