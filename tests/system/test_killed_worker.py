"""A Celery worker killed mid-load (issue 13), for every template that writes: four DAG runs on the production
profile — demo-autotask's catalog_sync (products), demo-connectwise's service_catalog_sync (catalog items),
demo-autotask's subscription_billing (contract service adjustments) and demo-connectwise's submit_orders
(TD SYNNEX orders) — with each one's writes slowed down (sandbox latency). All four run on one worker (the
other stops taking tasks, through Celery's remote control); once every load is writing, that worker is
killed with SIGKILL, every process of it (Celery's main process, its pool, the task supervisors and task
processes): a machine lost mid-write, with writes in flight whose answers are lost with it.

Airflow finds the loads without a heartbeat and retries them on the other worker; every run ends success.
Then, counted in the sandbox's own records: exactly one product (and one TD SYNNEX vendor row) per SKU — the
products the end-to-end runner makes on a fresh sandbox — one catalog item per Pax8 service, the same as a
fresh run's; each billed contract service carries the invoice's units, made by exactly the two adjustments
expected; exactly one TD SYNNEX order per PO and no PO sent twice. The operation ledger holds no write left
pending or unknown: the writes whose answers were lost were settled by reading the target.

The test runs last in the session (conftest.py orders it so): it leaves the profile with one worker.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import pytest

from channelsync.sandbox.control_client import SandboxControl
from channelsync.templates.dag_builder import dag_id_for
from tests.e2e import billing_world as world
from tests.e2e.orders_probe import OrderDesk, tds_duplicate_submissions, tds_orders
from tests.system.airflow_api import AirflowApi
from tests.system.in_process import run_here
from tests.system.profile import CeleryProfile
from tests.system.psa_state import differences, psa_state, reference_state
from tests.system.state_probe import ledger_by_status, sync_runs, unsettled_operations

pytestmark = pytest.mark.airflow
MONTHLY = "CFQ7TTC0LDPB:0001:P1M:Monthly"
CUSTOMERS = 2  # billing: one mapped load per customer, two adjustments each
ORDERS = 2  # orders: one mapped load per PO
POOL_SLOTS = 32  # every load at once (a load takes as many slots of its PSA's pool as it has threads)
RUN_TIMEOUT_S = 300
T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    """A DAG under test and its writes: (system, method, path regex), slowed by ``latency_ms`` so each load
    is still writing when the worker is killed; the load counts as writing after ``writes`` of them."""

    integration: str
    template: str
    system: str
    path: str
    latency_ms: int
    writes: int

    @property
    def dag_id(self) -> str:
        return dag_id_for(self.integration, self.template)


TARGETS = (
    # ~450 writes on 3 threads: ~45 s of load
    Target("demo-autotask", "catalog_sync", "autotask", r"/Products(/\d+/Vendors)?/?$", 300, 40),
    # 31 items on 3 threads: ~40 s
    Target("demo-connectwise", "service_catalog_sync", "connectwise", r"/procurement/catalog/?$", 4000, 3),
    # two adjustments per customer, one after the other: the second is in flight 12–24 s into the load
    Target("demo-autotask", "subscription_billing", "autotask", r"/ContractServiceAdjustments/?$", 12000, 1),
    # one PO per load, in flight for 25 s (counted when it arrives: the sandbox's in-flight high-water mark)
    Target("demo-connectwise", "submit_orders", "tdsynnex", r"/xml/SynnexXML/PO$", 25000, 0),
)


def _wait_for(what: str, timeout_s: float, probe: Callable[[], T | None]) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s} s")
        time.sleep(0.5)


def _writes(control: SandboxControl, target: Target) -> int:
    pattern = re.compile(target.path, re.IGNORECASE)
    return sum(1 for entry in control.requests(target.system)
               if entry["method"] == "POST" and pattern.search(entry["path"]))


def _prepare(profile: CeleryProfile, control: SandboxControl) -> tuple[list[world.Customer], list[str], float]:
    """What the runs need, made in this process: Autotask services and customers with contracts, mappings and
    a Crayon invoice (billing); ConnectWise catalog items carrying TD SYNNEX SKUs and POs to send (orders).
    Returns (customers, PO numbers, the service's price)."""
    for template, integration in (("service_catalog_sync", "demo-autotask"), ("catalog_sync", "demo-connectwise")):
        summary = run_here(profile.config_path, profile.sandbox_url, profile.state_url, template, integration,
                           profile.fernet_key)
        assert summary["status"] in ("success", "warning"), (template, integration, summary)
    customers = []
    for n in range(CUSTOMERS):
        customer = world.new_customer(control, profile.state_url, "demo-autotask", name=f"Killed Worker {n}",
                                      offer=MONTHLY, quantity=10, day=1, contract_start="2026-12-01",
                                      contract_end="2027-11-30")
        world.change(control, "crayon", type="seat_change", subscription_id=int(customer.subscription_id),
                     quantity=14, day=12)
        customers.append(customer)
    world.publish(control, "crayon")
    price = next(float(p["RecommendedRetailPrice"]["Value"]) for p in control.records("crayon", "agreementproducts")
                 if p["ProductVariant"]["PartNumber"] == MONTHLY)
    po_numbers = OrderDesk(control, "demo-connectwise", profile.sandbox_url).make_valid(ORDERS)
    return customers, po_numbers, price


def _catalog_items(state: dict[str, list[str]]) -> list[str]:
    """The service catalog's ConnectWise items (PC_<SKU>) of a normalised PSA state."""
    return sorted(row for row in state.get("connectwise/catalogItems", [])
                  if str(json.loads(row).get("identifier", "")).startswith("PC_"))


@pytest.mark.timeout(900)
def test_worker_killed_mid_load_retry_on_the_other_worker_completes_every_template_exactly_once(
    celery_profile: CeleryProfile, profile_sandbox: SandboxControl, airflow_api: AirflowApi
) -> None:
    celery_profile.reset_state_store()
    airflow_api.wait_for_dags([target.dag_id for target in TARGETS])
    for target in TARGETS:
        airflow_api.unpause(target.dag_id)
    customers, po_numbers, price = _prepare(celery_profile, profile_sandbox)
    profile_sandbox.reset_concurrency()
    profile_sandbox.clear_requests()
    pools = {pool: airflow_api.set_pool_slots(pool, POOL_SLOTS) for pool in ("autotask_api", "connectwise_api")}
    victim, survivor = sorted(celery_profile.workers)
    celery_profile.consume(survivor, on=False)  # every task of these runs goes to the victim
    profile_sandbox.set_faults(*({"kind": "latency", "system": t.system, "method": "POST", "path": t.path,
                                  "latency_ms": t.latency_ms} for t in TARGETS))
    prefix = f"killed_worker__{uuid.uuid4().hex[:6]}"
    runs = {target: f"{prefix}__{target.template}" for target in TARGETS}
    started = time.monotonic()
    try:
        for target, run_id in runs.items():
            airflow_api.trigger(target.dag_id, run_id)

        def writing(target: Target) -> dict[str, Any] | None:
            """A load of ``target`` running on the victim, while its writes are under way."""
            running = [ti for ti in airflow_api.loads(target.dag_id, runs[target])
                       if ti["state"] == "running" and ti.get("pid")
                       and celery_profile.worker_running(int(ti["pid"])) == victim]
            if not running:
                return None
            if target.writes == 0:  # counted on arrival: a request in flight raised the high-water mark
                entity = target.path.strip("/$").rsplit("/", 1)[-1].lower()
                return running[0] if profile_sandbox.concurrency().get(target.system, {}).get(entity) else None
            return running[0] if _writes(profile_sandbox, target) >= target.writes else None

        def every_load_writing() -> dict[Target, dict[str, Any]] | None:
            for target in TARGETS:
                done = [ti for ti in airflow_api.loads(target.dag_id, runs[target]) if ti["state"] == "success"]
                assert len(done) < max(1, len(airflow_api.loads(target.dag_id, runs[target]))), \
                    f"{target.template}: every load ended before the kill"
            found = {target: writing(target) for target in TARGETS}
            return found if all(found.values()) else None  # type: ignore[return-value]

        killed_loads = _wait_for("every load writing on the victim", 240, every_load_writing)
        writes_before_kill = {t.template: _writes(profile_sandbox, t) for t in TARGETS}
        celery_profile.consume(survivor, on=True)
        killed = celery_profile.kill_worker(victim)
        killed_at = time.monotonic()
        profile_sandbox.clear_faults()  # the retries need not wait for the latency
        assert all(int(ti["pid"]) in killed for ti in killed_loads.values()), (killed_loads, killed)

        finished = airflow_api.wait_for_runs([(t.dag_id, run_id) for t, run_id in runs.items()],
                                             timeout_s=RUN_TIMEOUT_S)
    finally:
        celery_profile.consume(survivor, on=True)
        profile_sandbox.clear_faults()
        for pool, slots in pools.items():
            airflow_api.set_pool_slots(pool, slots)
        with contextlib.suppress(TimeoutError):  # after a failure: no run of this test goes on past it
            airflow_api.wait_for_runs(list((t.dag_id, run_id) for t, run_id in runs.items()), timeout_s=RUN_TIMEOUT_S)
    total_seconds = round(time.monotonic() - started, 1)
    recovery_seconds = round(time.monotonic() - killed_at, 1)
    states = {t.template: {f"{ti['task_id']}[{ti['map_index']}]": (ti["state"], ti["try_number"])
                           for ti in airflow_api.task_instances(t.dag_id, runs[t])} for t in TARGETS}
    assert {t.template: finished[(t.dag_id, runs[t])]["state"] for t in TARGETS} == \
        {t.template: "success" for t in TARGETS}, states

    # Each killed load was retried, by the survivor.
    for target, load in killed_loads.items():
        retried = [w for w in celery_profile.workloads(survivor, runs[target])
                   if w["task_id"] == "load" and int(w["try_number"]) > load["try_number"]]
        assert retried, f"{target.template}: the load's retry was not run by {survivor}"

    # products: one per SKU, one TD SYNNEX vendor row each, the products a run without a kill makes.
    products = profile_sandbox.records("autotask", "Products")
    per_sku = Counter(str(p["sku"]) for p in products if p.get("sku"))
    assert [sku for sku, n in per_sku.items() if n > 1] == []
    vendor_rows = Counter(row["productID"] for row in profile_sandbox.records("autotask", "ProductVendors"))
    assert [product for product, n in vendor_rows.items() if n > 1] == []
    catalog = ("autotask/Products", "autotask/ProductVendors")
    expected, _ = reference_state([("catalog_sync", "demo-autotask"), ("service_catalog_sync", "demo-connectwise")],
                                  celery_profile.config_path, systems=("autotask", "connectwise"), tdsynnex_tables=())
    actual = psa_state(profile_sandbox, ("autotask", "connectwise"), ())
    assert differences({k: actual[k] for k in catalog}, {k: expected[k] for k in catalog}) == {}

    # catalog items: one per Pax8 service, as a fresh run makes them.
    items = _catalog_items(actual)
    identifiers = Counter(json.loads(row)["identifier"] for row in items)
    assert [name for name, n in identifiers.items() if n > 1] == []
    assert Counter(items) == Counter(_catalog_items(expected))

    # billing: each contract service carries the invoice's units, from exactly two adjustments.
    service = world.service_ids(profile_sandbox, "autotask")[f"PC_{MONTHLY}"]
    adjustments = Counter(str(a["contractID"]) for a in profile_sandbox.records("autotask",
                                                                                "ContractServiceAdjustments"))
    for customer in customers:
        assert world.autotask_units(profile_sandbox, customer.contract_id, service, date(2027, 1, 1)) == [
            ("2026-12-01", "2026-12-11", 10, price), ("2026-12-12", "2026-12-31", 14, price)], customer
        assert adjustments[customer.contract_id] == 2, (customer, adjustments[customer.contract_id])

    # orders: exactly one TD SYNNEX order per PO, none sent twice.
    orders = tds_orders(profile_sandbox)
    assert sorted(po for po in po_numbers if po in orders) == sorted(po_numbers), (po_numbers, sorted(orders))
    assert {po: n for po, n in tds_duplicate_submissions(profile_sandbox).items() if po in po_numbers} == {}

    # The state store: each run recorded once, not a failure; nothing stuck as pending or unknown.
    recorded = {t.template: [row["status"] for row in sync_runs(celery_profile.state_url)
                             if row["run_key"] == f"{t.dag_id}/{runs[t]}"] for t in TARGETS}
    unsettled = unsettled_operations(celery_profile.state_url)
    high_water = profile_sandbox.concurrency()
    print(f"\nkilled worker: {victim} ({len(killed)} processes) running "
          f"{ {t.template: ti['map_index'] for t, ti in killed_loads.items()} } after writes {writes_before_kill}; "
          f"every run success in {total_seconds} s, {recovery_seconds} s after the kill; {len(per_sku)} SKUs and "
          f"{len(identifiers)} catalog items, one each; {len(customers)} contracts billed once; "
          f"{len(po_numbers)} POs, one TD SYNNEX order each; runs {recorded}; "
          f"ledger {ledger_by_status(celery_profile.state_url)}; high-water marks {high_water}")
    assert all(len(s) == 1 and s[0] in ("success", "warning") for s in recorded.values()), recorded
    assert max(high_water.get("autotask", {}).values(), default=0) <= 3, high_water
    assert [(row["template"], row["op"], row["status"], row["idempotency_key"]) for row in unsettled] == []
