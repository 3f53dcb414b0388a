"""A Celery worker killed mid-load (issue 13): demo-autotask's catalog_sync runs on the production profile with
Autotask's product writes slowed down (latency), and once the load task has written some products the
worker executing it — found from the task instance's pid — is killed with SIGKILL, every process of it
(Celery's main process, its pool, the task supervisor and the task process): a machine lost mid-write.

Airflow finds the task without a heartbeat, retries it, and the retry runs on the other worker; the run
ends success. The PSA then holds exactly one product (and one TD SYNNEX vendor row) per SKU — the same
products the end-to-end runner makes on a fresh sandbox — and the operation ledger no write left pending
or unknown: the writes whose answers were lost with the worker were settled by reading Autotask.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from channelsync.sandbox.control_client import SandboxControl
from channelsync.templates.dag_builder import dag_id_for
from tests.system.airflow_api import AirflowApi
from tests.system.profile import CeleryProfile
from tests.system.psa_state import differences, psa_state, reference_state
from tests.system.state_probe import ledger_by_status, sync_runs, unsettled_operations

pytestmark = pytest.mark.airflow
INTEGRATION, TEMPLATE = "demo-autotask", "catalog_sync"
PRODUCT_WRITES = r"/Products(/\d+/Vendors)?/?$"
WRITE_LATENCY_MS = 250  # ~450 writes on 3 threads: about 40 s of load, so the kill lands mid-load
KILL_AFTER_WRITES = 40
RUN_TIMEOUT_S = 360
T = TypeVar("T")


def _product_writes(control: SandboxControl) -> int:
    return sum(1 for entry in control.requests("autotask")
               if entry["method"] == "POST" and entry["path"].rstrip("/").endswith("/Products"))


def _wait_for(what: str, timeout_s: float, probe: Callable[[], T | None]) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s} s")
        time.sleep(0.5)


@pytest.mark.timeout(900)
def test_worker_killed_mid_load_retry_on_the_other_worker_completes_it_exactly_once(
    celery_profile: CeleryProfile, profile_sandbox: SandboxControl, airflow_api: AirflowApi
) -> None:
    celery_profile.reset_state_store()
    dag_id = dag_id_for(INTEGRATION, TEMPLATE)
    airflow_api.wait_for_dags([dag_id])
    airflow_api.unpause(dag_id)
    profile_sandbox.set_faults({"kind": "latency", "system": "autotask", "method": "POST", "path": PRODUCT_WRITES,
                                "latency_ms": WRITE_LATENCY_MS})
    run_id = f"killed_worker__{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    airflow_api.trigger(dag_id, run_id)

    def load_running_with_writes() -> dict[str, Any] | None:
        load = airflow_api.task_instance(dag_id, run_id, "load")
        if load["state"] == "running" and load.get("pid") and _product_writes(profile_sandbox) >= KILL_AFTER_WRITES:
            return load
        assert load["state"] not in ("success", "failed"), f"the load ended before the kill: {load['state']}"
        return None

    load = _wait_for("the load task writing products", 240, load_running_with_writes)
    victim = celery_profile.worker_running(int(load["pid"]))
    assert victim is not None, f"no worker of the profile runs pid {load['pid']} ({load['hostname']})"
    writes_before_kill = _product_writes(profile_sandbox)
    killed = celery_profile.kill_worker(victim)
    killed_at = time.monotonic()
    profile_sandbox.clear_faults()  # the retry need not wait for the latency
    assert int(load["pid"]) in killed, (load["pid"], killed)

    # The retry: another try of the load, on the worker still alive.
    survivors = [name for name in celery_profile.workers if name != victim]

    def retry_running() -> str | None:
        retry = airflow_api.task_instance(dag_id, run_id, "load")
        if retry["try_number"] > load["try_number"] and retry.get("pid") and retry["state"] in ("running", "success"):
            return celery_profile.worker_running(int(retry["pid"])) or ("finished" if retry["state"] == "success"
                                                                         else None)
        return None

    retried_on = _wait_for("the load's retry", RUN_TIMEOUT_S, retry_running)
    run = airflow_api.wait_for_runs([(dag_id, run_id)], timeout_s=RUN_TIMEOUT_S)[(dag_id, run_id)]
    total_seconds = round(time.monotonic() - started, 1)
    recovery_seconds = round(time.monotonic() - killed_at, 1)
    assert run["state"] == "success", {ti["task_id"]: (ti["state"], ti["try_number"])
                                       for ti in airflow_api.task_instances(dag_id, run_id)}
    handed = [w for name in survivors for w in celery_profile.workloads(name, run_id)
              if w["task_id"] == "load" and int(w["try_number"]) > load["try_number"]]
    assert handed, f"the load's retry was not run by {survivors}"
    assert retried_on in (*survivors, "finished"), retried_on
    final_load = airflow_api.task_instance(dag_id, run_id, "load")

    # Exactly one product and one TD SYNNEX vendor row per SKU, the products a run without a kill makes.
    products = profile_sandbox.records("autotask", "Products")
    per_sku = Counter(str(p["sku"]) for p in products if p.get("sku"))
    assert [sku for sku, n in per_sku.items() if n > 1] == []
    vendor_rows = Counter(row["productID"] for row in profile_sandbox.records("autotask", "ProductVendors"))
    assert [product for product, n in vendor_rows.items() if n > 1] == []
    expected, _ = reference_state([(TEMPLATE, INTEGRATION)], celery_profile.config_path, systems=("autotask",),
                                  tdsynnex_tables=())
    assert differences(psa_state(profile_sandbox, ("autotask",), ()), expected) == {}

    # The state store: nothing stuck as pending or unknown; the run recorded once, a success.
    assert unsettled_operations(celery_profile.state_url) == []
    recorded = [row for row in sync_runs(celery_profile.state_url) if row["run_key"] == f"{dag_id}/{run_id}"]
    assert [row["status"] for row in recorded] == ["success"], recorded
    high_water = profile_sandbox.concurrency()
    assert max(high_water.get("autotask", {}).values(), default=0) <= 3, high_water

    print(f"\nkilled worker: {victim} (pid {load['pid']}, {len(killed)} processes) after {writes_before_kill} "
          f"product writes; load retried (try {final_load['try_number']}) on {retried_on}; run success in "
          f"{total_seconds} s, {recovery_seconds} s after the kill; {len(per_sku)} SKUs, one product each; "
          f"counts {recorded[0]['counts']}; ledger {ledger_by_status(celery_profile.state_url)}; "
          f"high-water marks {high_water}")
