"""Benchmark: subscription_billing at scale (Crayon → Autotask, or Pax8 → ConnectWise) with emulated PSA latency.

Run: ``.venv/bin/python benchmarks/bench_billing.py [--psa autotask|connectwise] [--customers 1000]
[--lines 25] [--latency-ms 50] [--contract-months 1] [--budget-customers 40] [--budget-threshold 1000]``

**World.** The sandbox runs in a process of its own (as ``bench_orders``: the engine's figures should not
include the emulator's CPU time in the same interpreter; in production the PSA is another machine), started
by this script in a hidden ``--serve`` mode that seeds it *in that process*, on the emulators' own objects,
before it answers: ``--customers`` distributor customers, each with ``--lines`` subscriptions of distinct
offers starting on the first day of the next unpublished month (monthly-billed offers first, then annual
ones; ConnectWise: monthly only), and per customer a company with a recurring contract (Autotask Recurring
Service / ConnectWise agreement) through the PSA emulator's own contract set-up. The world's own customers
are dropped from the distributor's book (unmapped, they would only be listed). This process then maps every
customer (``state.mappings.set_mapping``, a fresh SQLite state store in a temp dir), runs
service_catalog_sync (the PSA services) and publishes the month. None of that is measured, and the request
log is read from after it.

The contracts run ``--contract-months`` (default 1) from the period start: the Autotask emulator keeps one
ContractServiceUnits row per contract service and month, so a year-long contract makes 12× the rows (its
queries and adjustments find a contract's rows through indexes, ``sandbox/autotask/indexes.py``, but every
row still costs memory and bookkeeping; the sandbox's own handling per endpoint is printed to show what it
adds). The invoice is the same either way.

Then, with ``--latency-ms`` on every PSA request (sandbox fault rule ``latency``):

1. **One subscription_billing run** through ``runs.runner.run_in_process``: the mapped load runs the
   partitions (one per customer) as Airflow runs the mapped load tasks: as many at once as the PSA's pool
   admits (``airflow_settings.yaml``: ``autotask_api`` has 8 slots, a customer's load task takes
   ``load.concurrency``, 3: two at once), each a context of its own on a thread, sharing the run's clients.
   While one customer's writes hold the 3 Autotask threads of ContractServiceAdjustments, the other's reads
   (Contracts, ContractServiceUnits: other entities) and planning go on; the client's leases keep every
   entity at 3 calls in flight. ConnectWise has no per-entity cap: two tasks have up to 6 calls in flight,
   and its figures are also given against ``calls × latency / 6``.

   *Lower bound.* Every PSA call of the load stage — reads (the contract, its units, the budget guard's
   ThresholdInformation, the contract-type picklist) and writes alike — counts ``latency / 3``, as if every
   call shared one entity's 3 threads: **bound = load calls × latency / 3**. The other stages' PSA calls
   (reconcile's services read, the client's first budget reading) are made one after another, so the
   whole-run bound adds them at ``calls × latency``. Writes are POST / PUT / PATCH / DELETE except
   Autotask's ``/query`` and ``/count`` POSTs, which are reads. Beside it: the busiest entity's calls ×
   latency / 3 (what no schedule beats when reads of other entities overlap), or, with one load task at a
   time (a pool of fewer than 6 slots), the per-customer bound (per customer ⌈reads / 3⌉ + ⌈writes / 3⌉
   rounds of ``latency``: 10 rounds for 2 reads + 25 writes, 1.10 × the strict bound) and the per-customer
   schedule on the sandbox's own durations (reads at once, then the writes on 3 workers).

   The load is also set against the sandbox's own durations (latency plus its handling, which grows with
   its tables) / 3; the rest is this process's own time (HTTP client, waiting for a core, state store,
   staging, bookkeeping), split further by wrapping the functions that spend it (in this process only; no
   file outside this script is changed; with customers overlapping, their times add up beyond the wall).

   Also: write calls vs the contract services they changed (the first invoice: one adjustment / addition
   per customer and service), every customer's seats as posted, reads per customer, the Autotask counters
   (threshold, refusals, most calls in flight per entity).
2. **The same invoice again**: PSA writes (must be 0) and reads per customer.
3. **The hourly budget** (Autotask): a fresh world of ``--budget-customers`` with the hourly threshold at
   ``--budget-threshold``. The client's budget guard stops at its share (50 %) of the threshold; the
   sandbox's counters show the count never passed that share and no call was refused. Then the sandbox
   clock moves past the hour and the run is repeated until all is posted: writes in total = changed
   contract services, and every customer's contract holds exactly the invoice's seats (none posted twice).

The main runs lift Autotask's threshold (1,000 customers need ~27,000 calls: a real tenant's 10,000 an hour
would defer most of them, which is part 3's subject). In one process the partitions share the run's clients,
so zone discovery, the budget guard's first reading and the contract-type picklist are read once per run; in
Airflow every mapped task is a process of its own and reads them again (not in these figures).

Duration: the first run's bound alone is 7.6 minutes (27,271 calls); the default takes about 14 minutes on
a quiet 2-core machine (``--customers 200``: under 3). The machine (cores, load average) is printed with
the figures. Not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import bisect
import json
import logging
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pools import psa_pool_slots  # benchmarks/pools.py: this script's folder is on the path
from probes import Probes

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.25
ACCOUNT = {"crayon": "4401", "pax8": "sandbox_pax8"}
LIFTED_THRESHOLD = 10_000_000


@dataclass(frozen=True)
class Psa:
    system: str
    integration: str
    distributor: str
    services_table: str  # what one write makes on the first invoice: a contract service / an addition
    contract_field: str  # that table's reference to the contract


PSAS = {
    "autotask": Psa("autotask", "demo-autotask", "crayon", "ContractServices", "contractID"),
    "connectwise": Psa("connectwise", "demo-connectwise", "pax8", "additions", "agreementId"),
}


# ---------------------------------------------------------------------------------------------------
# Seeding, in the sandbox's process (``--serve``): the emulators' objects, no request logged.


@dataclass
class Seeded:
    url: str
    month: str
    lines: int
    # per customer: distributor customer id, PSA company id, PSA contract id, {offer: seats}
    customers: list[tuple[str, str, str, dict[str, int]]] = field(default_factory=list)


def serve(args: argparse.Namespace) -> None:
    """Start the sandbox, seed it, write what was made to ``--serve`` (the ready file), serve until killed."""
    from channelsync.sandbox.server import SandboxServer

    server = SandboxServer(host="127.0.0.1", port=0, scale="tiny", seed=args.seed).start()
    seeded = seed(server, PSAS[args.psa], args.customers, args.lines, args.contract_months)
    ready = Path(args.serve)
    ready.with_suffix(".tmp").write_text(json.dumps(seeded.__dict__))
    ready.with_suffix(".tmp").rename(ready)
    threading.Event().wait()


def seed(server: Any, psa: Psa, customers: int, lines: int, months: int) -> Seeded:
    distributor = server.app.emulators[psa.distributor]
    # The world's own customers are unmapped: left in, they would be listed (Warning) on every run.
    distributor.book.subscriptions.clear()
    distributor.book.pending.clear()
    month = distributor.book.next_month
    end = _add_months(month, months) - timedelta(days=1)
    offers = sorted((o for o in distributor.context.world.offers if not o.usage_based
                     and (psa.system == "autotask" or o.billing_cycle == "Monthly")),
                    key=lambda o: (o.billing_cycle != "Monthly", o.nce_id))
    if lines > len(offers):
        raise SystemExit(f"--lines {lines}: the {psa.distributor} price list has {len(offers)} offers to use")
    rng = random.Random(7)
    seeded = Seeded(server.url, month.isoformat(), lines)
    for number in range(customers):
        rotation = offers[number % len(offers):] + offers[:number % len(offers)]
        chosen = sorted(rotation[:lines], key=lambda o: (o.billing_cycle != "Monthly", o.nce_id))
        seats = {o.nce_id: rng.choice([1, 2, 3, 5, 8, 10, 15, 25, 40]) for o in chosen}
        name = f"Bench Customer {number + 1:04d}"
        customer = _distributor_customer(distributor, psa.distributor, name, seats, month)
        company, contract = _contract(server, psa.system, name, month.isoformat(), end.isoformat())
        seeded.customers.append((customer, company, contract, seats))
    return seeded


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _distributor_customer(distributor: Any, kind: str, name: str, seats: dict[str, int], month: date) -> str:
    """A new customer with its subscriptions from ``month``'s first day, through the control API's own code."""
    (first, quantity), *rest = seats.items()
    change = {"type": "new_tenant", "name": name, "offer": first, "quantity": quantity, "date": month.isoformat()}
    if kind == "crayon":
        from channelsync.sandbox.crayon import control as crayon

        tenant = int(crayon.apply_change(distributor, change)["tenantId"])
        for offer, count in rest:
            crayon._subscribe(distributor, tenant, offer, count, month)
        return str(tenant)
    from channelsync.sandbox.pax8 import control as pax8

    company = str(pax8.apply_change(distributor, change)["companyId"])
    for offer, count in rest:
        pax8.subscribe(distributor, company, offer, count, month)
    return company


def _contract(server: Any, psa: str, name: str, start: str, end: str) -> tuple[str, str]:
    if psa == "autotask":
        from channelsync.sandbox.autotask.contracts import seed_contract

        made = seed_contract(server.app.emulators["autotask"].writer, {
            "create_company": True, "company": name, "contractName": f"{name} Microsoft 365",
            "contractType": 7, "status": 1, "startDate": start, "endDate": end})
        return str(made["contract"]["companyID"]), str(made["contract"]["id"])
    from channelsync.sandbox.connectwise.agreements import seed_agreement

    identifier = "".join(c for c in name if c.isalnum())[:25]
    made = seed_agreement(server.app.emulators["connectwise"], {
        "create_company": True, "company": identifier, "companyName": name, "name": f"{name} Microsoft 365",
        "type": "Microsoft 365", "startDate": start, "endDate": end, "prorateFlag": True})
    return str(made["agreement"]["company"]["id"]), str(made["agreement"]["id"])


@contextmanager
def sandbox_world(args: argparse.Namespace, psa: Psa, customers: int) -> Iterator[tuple[Any, Seeded, str]]:
    """The seeded sandbox process, a fresh state store with every customer mapped: (control, seeded, state url)."""
    from channelsync.sandbox.control_client import SandboxControl
    from channelsync.state.db import upgrade
    from channelsync.state.mappings import CustomerKey, set_mapping

    folder = Path(tempfile.mkdtemp(prefix="bench-billing-"))
    ready = folder / "ready.json"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve", str(ready), "--psa", psa.system,
         "--customers", str(customers), "--lines", str(args.lines), "--contract-months", str(args.contract_months),
         "--seed", str(args.seed)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not ready.exists():
            if process.poll() is not None:
                raise SystemExit(f"the sandbox process ended with {process.returncode} before it was seeded")
            time.sleep(0.1)
        seeded = Seeded(**json.loads(ready.read_text()))
        os.environ["CHANNELSYNC_HOME"] = str(folder / "home")
        state_url = f"sqlite:///{folder / 'state.db'}"
        os.environ["CHANNELSYNC_STATE_URL"] = state_url
        upgrade(state_url)
        for customer, company, contract, _seats in seeded.customers:
            set_mapping(state_url, psa.integration,
                        CustomerKey(psa.distributor, ACCOUNT[psa.distributor], customer),
                        company=company, contract=contract, by="bench")
        print(f"seeded {customers} customers x {args.lines} subscriptions, their contracts and mappings in "
              f"{time.perf_counter() - started:.1f} s (month {seeded.month[:7]}, contracts of "
              f"{args.contract_months} month(s))", flush=True)
        yield SandboxControl(seeded.url), seeded, state_url
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------
# Timing probes (probes.py): wrap a few functions so the load's time can be split without touching their files.

PROBES = Probes()
# (owner module, attribute, label); attributes of a class are given as "Class.attribute".
PROBED = [
    ("channelsync.runs.runner", "stage_load", "a partition's load task (stage_load)"),
    ("channelsync.templates.subscription_billing.steps", "SubscriptionBillingSteps._plan_customer",
     "reads + planning (_plan_customer)"),
    ("channelsync.templates.subscription_billing.steps", "SubscriptionBillingSteps._load_in_waves",
     "writes through the ledger (_load_in_waves)"),
    ("channelsync.clients.http", "HttpTransport.request", "HTTP calls (summed over threads)"),
    ("channelsync.templates.subscription_billing.planning", "plan_customer", "planning, pure (plan_customer)"),
    ("channelsync.templates.subscription_billing.sources", "left_behind", "xrefs read (left_behind)"),
    ("channelsync.templates.subscription_billing.sources", "staged_rows", "staged plan row + lines read"),
    ("channelsync.runs.staging", "read_frame", "staged Parquet read (read_frame)"),
    ("channelsync.state.ledger", "Ledger.claim", "ledger claims"),
    ("channelsync.state.ledger", "Ledger.mark_applied_many", "ledger marks (batched)"),
    ("channelsync.templates.subscription_billing.steps", "SubscriptionBillingSteps._remember",
     "xrefs write (_remember)"),
    ("channelsync.state.repository", "replace_items", "item rows (replace_items)"),
    ("channelsync.state.repository", "add_api_calls", "API call counts (add_api_calls)"),
    ("channelsync.runs.staging", "write_csv", "reports staged (write_csv)"),
    ("channelsync.clients.autotask.budget", "BudgetGuard._refresh", "budget readings (in the background)"),
    ("channelsync.templates.subscription_billing.sources", "contract_and_units", "PSA reads (contract_and_units)"),
    ("channelsync.state.leases", "LeaseStore.try_acquire_many", "Autotask slot leases taken (state store)"),
    ("channelsync.state.leases", "LeaseCap.release_all", "leases given back (end of each load)"),
]


def install_probes() -> None:
    import importlib

    for module_name, attribute, label in PROBED:
        owner: Any = importlib.import_module(module_name)
        if "." in attribute:
            class_name, attribute = attribute.split(".", 1)
            owner = getattr(owner, class_name)
        if hasattr(owner, attribute):  # an older checkout may lack one (comparisons across versions)
            PROBES.wrap(owner, attribute, label)


# ---------------------------------------------------------------------------------------------------
# One run of a template through run_in_process, its stages timed (the runner module's functions wrapped).


@dataclass
class StageCall:
    name: str
    started: float  # time.time(): comparable with the request log's ``at``
    ended: float
    error: str | None = None  # the code of what it raised


@dataclass
class RunResult:
    summary: dict[str, Any]
    wall_s: float
    calls: list[StageCall]
    entries: list[dict[str, Any]]  # the PSA requests of the run
    cpu_s: float
    load_tasks: int  # a mapped load's task instances run at once
    _stamps: list[float] = field(default_factory=list)

    def stage(self, name: str) -> list[StageCall]:
        return [c for c in self.calls if c.name == name]

    def span(self, name: str) -> float:
        """Wall seconds of a stage (the mapped load: the first partition's start to the last one's end)."""
        found = self.stage(name)
        return found[-1].ended - found[0].started if found else 0.0

    def within(self, name: str) -> list[dict[str, Any]]:
        """The PSA requests answered during a stage (the mapped load: from its first partition to its last)."""
        found = self.stage(name)
        return self._between(found[0].started, found[-1].ended) if found else []

    def per_call(self, name: str) -> list[list[dict[str, Any]]]:
        """The PSA requests of each call of a stage (each partition of the mapped load)."""
        return [self._between(call.started, call.ended) for call in self.stage(name)]

    def _between(self, started: float, ended: float) -> list[dict[str, Any]]:
        # The log stamps ``at`` when it numbers a request, so ``at`` grows with ``seq``: bisect.
        if len(self._stamps) != len(self.entries):
            self._stamps = [float(e["at"]) for e in self.entries]
        return self.entries[bisect.bisect_left(self._stamps, started):bisect.bisect_right(self._stamps, ended)]


_CONFIGS: dict[str, Any] = {}


def _integration(name: str) -> Any:
    """The demo integration's configuration, read once per process (the file may change while this runs)."""
    from channelsync.config import load_config

    if name not in _CONFIGS:
        _CONFIGS[name] = load_config(ROOT / "config" / "integrations.yaml").get(name)
    return _CONFIGS[name]


class Runner:
    def __init__(self, control: Any, state_url: str, psa: Psa) -> None:
        from channelsync.connections import SettingsClientFactory, connections_from_settings

        self.control, self.psa = control, psa
        connections = connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=control.base_url)
        self.state_url = state_url
        self.config = _integration(psa.integration)
        self.factory = SettingsClientFactory(connections, state_url=state_url)
        self.pool_slots = psa_pool_slots(psa.system, control.base_url)
        self.n = 0
        self.seq = 0
        self._calls: list[StageCall] | None = None
        self.context: Any = None  # the last run's

    def last_seq(self) -> int:
        tail = self.control.requests(since=self.seq)
        if tail:
            self.seq = int(tail[-1]["seq"])
        return self.seq

    def timed(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def stage(*args: Any, **kwargs: Any) -> Any:
            started, error = time.time(), None
            try:
                return original(*args, **kwargs)
            except Exception as exc:
                error = str(getattr(exc, "code", None) or type(exc).__name__)
                raise
            finally:
                if self._calls is not None:
                    self._calls.append(StageCall(name, started, time.time(), error))
        return stage

    def run(self, template: str, **overrides: Any) -> RunResult:
        from channelsync.imports import load_object
        from channelsync.runs import runner as stages
        from channelsync.runs.context import RunContext
        from channelsync.templates.registry import TEMPLATES

        self.n += 1
        spec = TEMPLATES[template]
        options = {**self.config.templates[template].options, **overrides}
        context = RunContext(integration=self.config, template=template,
                             options=spec.options_model.model_validate(options), run_key=f"bench/{template}/{self.n}",
                             state_url=self.state_url, client_factory=self.factory)
        self.context = context
        first = self.last_seq()
        originals = {name: getattr(stages, name) for name in
                     ("stage_extract", "stage_validate", "stage_reconcile", "stage_load", "stage_report")}
        for name, original in originals.items():
            setattr(stages, name, self.timed(name.removeprefix("stage_"), original))
        self._calls = []
        # As many customers' load tasks at once as the PSA's pool admits (each takes load.concurrency slots).
        load_tasks = spec.load_tasks_at_once(options, self.pool_slots)
        started, cpu = time.perf_counter(), time.process_time()
        try:
            summary = stages.run_in_process(context, load_object(spec.steps)(), load_tasks=load_tasks)
        finally:
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            calls, self._calls = self._calls, None
            for name, original in originals.items():
                setattr(stages, name, original)
        self.last_seq()
        found = [e for e in self.control.requests(self.psa.system, since=first) if e["seq"] <= self.seq]
        return RunResult(summary, wall, calls, found, cpu, load_tasks)


# ---------------------------------------------------------------------------------------------------
# Request-log arithmetic.


def is_write(entry: dict[str, Any]) -> bool:
    from channelsync.sandbox.control_client import WRITE_METHODS

    path = entry["path"].lower().rstrip("/")
    return entry["method"] in WRITE_METHODS and not path.endswith(("/query", "/count")) and "/query/" not in path


def split_calls(found: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return [e for e in found if is_write(e)], [e for e in found if not is_write(e)]


def shape(entry: dict[str, Any]) -> str:
    """``POST /ATServicesRest/V1.0/Contracts/123/Charges`` → ``POST Contracts/{id}/Charges``."""
    path = str(entry["path"])
    marker = path.lower().find("/v1.0/")
    tail = path[marker + 6:] if marker >= 0 else path.strip("/")
    for prefix in ("v4_6_release/apis/3.0/",):
        tail = tail.split(prefix, 1)[-1]
    return f"{entry['method']} " + "/".join("{id}" if part.isdigit() else part for part in tail.split("/"))


def by_shape(found: list[dict[str, Any]]) -> str:
    return ", ".join(f"{n} {name}" for name, n in Counter(shape(e) for e in found).most_common())


def handling(found: list[dict[str, Any]], latency_ms: float) -> str:
    """The sandbox's own time per endpoint (its duration minus the injected latency), mean ms."""
    per: dict[str, list[float]] = defaultdict(list)
    for entry in found:
        per[shape(entry)].append(float(entry["duration_ms"]) - latency_ms)
    return ", ".join(f"{name} {sum(v) / len(v):.1f}" for name, v in sorted(per.items(), key=lambda kv: -sum(kv[1])))


def contract_services(control: Any, psa: Psa, seeded: Seeded) -> list[dict[str, Any]]:
    """What the PSA holds on the benchmark's contracts (each started empty)."""
    contracts = {int(contract) for _, _, contract, _ in seeded.customers}
    rows = control.records(psa.system, psa.services_table)
    return [r for r in rows if int(_contract_of(r, psa) or 0) in contracts]


def _contract_of(row: dict[str, Any], psa: Psa) -> Any:
    value = row.get(psa.contract_field)
    return value if value is not None else (row.get("agreement") or {}).get("id")


def seats_match(control: Any, psa: Psa, seeded: Seeded) -> tuple[int, int]:
    """(customers whose contract holds exactly the invoice's seats on the period's first day, customers): per
    contract, the seats of each contract service (Autotask: its unit row from that day; ConnectWise: its
    addition from that day) against the subscriptions' quantities, as multisets: a write sent twice would
    double a service's seats (or add an addition), a missing one leave a quantity out."""
    found: dict[str, list[float]] = defaultdict(list)
    if psa.system == "autotask":
        per_service: dict[tuple[str, str], float] = defaultdict(float)
        for row in control.records("autotask", "ContractServiceUnits"):
            if str(row["startDate"])[:10] == seeded.month:
                per_service[(str(row["contractID"]), str(row["serviceID"]))] += float(row["units"] or 0)
        for (contract, _service), units in per_service.items():
            found[contract].append(units)
    else:
        for row in contract_services(control, psa, seeded):
            if str(row.get("effectiveDate"))[:10] == seeded.month:
                found[str(_contract_of(row, psa))].append(float(row.get("quantity") or 0))
    matching = sum(1 for _, _, contract, seats in seeded.customers
                   if sorted(found.get(contract, [])) == sorted(float(n) for n in seats.values()))
    return matching, len(seeded.customers)


def ideal_schedule(found: list[dict[str, Any]], workers: int) -> float:
    """The least time one customer's calls need at the durations the sandbox took to answer them: its reads at
    once (the longest), then its writes in order on ``workers`` (each to the first free worker)."""
    writes, reads = split_calls(found)
    free = [0.0] * workers
    for entry in writes:
        free[free.index(min(free))] += float(entry["duration_ms"]) / 1000
    return max((float(e["duration_ms"]) / 1000 for e in reads), default=0.0) + (max(free) if writes else 0.0)


def machine_facts() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), load average {load}; "
            f"Python {platform.python_version()} on {platform.system()} {platform.release()}")


def autotask_limits(control: Any) -> dict[str, Any]:
    return dict(control.control("autotask", "limits", method="GET"))


# ---------------------------------------------------------------------------------------------------


def prepare(control: Any, runner: Runner, psa: Psa, threshold: int) -> None:
    """The PSA services (service_catalog_sync, no latency) and the month's invoice; the counters from zero."""
    if psa.system == "autotask":
        control.control("autotask", "limits", json={"hourly_threshold": LIFTED_THRESHOLD})
    services = runner.run("service_catalog_sync")
    print(f"service_catalog_sync: {services.summary['status']}, {services.summary['counts']} in "
          f"{services.wall_s:.1f} s", flush=True)
    published = control.control(psa.distributor, "invoices/publish")
    if "billingStatements" in published:  # Crayon: one statement per provision type
        described = ", ".join(f"statement {s['Id']} ({s['LineCount']} lines)" for s in published["billingStatements"])
    else:  # Pax8: one invoice
        described = f"invoice {published['invoice']['id']} ({published['itemCount']} items)"
    print(f"published {published.get('month')}: {described}", flush=True)
    if psa.system == "autotask":
        control.control("autotask", "limits", json={"hourly_threshold": threshold, "reset_counters": True})


def bench_main(args: argparse.Namespace, psa: Psa) -> None:
    from channelsync.templates.subscription_billing.options import SubscriptionBillingOptions

    print(f"\n=== {psa.distributor} -> {psa.system} ({psa.integration}): {args.customers} customers x {args.lines} "
          f"lines, {args.latency_ms:g} ms on every {psa.system} request ===", flush=True)
    with sandbox_world(args, psa, args.customers) as (control, seeded, state_url):
        runner = Runner(control, state_url, psa)
        prepare(control, runner, psa, LIFTED_THRESHOLD)
        options = runner.config.templates["subscription_billing"].options
        concurrency = SubscriptionBillingOptions.model_validate(options).load.concurrency
        if args.latency_ms > 0:
            control.set_faults({"kind": "latency", "system": psa.system, "latency_ms": args.latency_ms})
        PROBES.reset()
        PROBES.enabled = True
        try:
            first = runner.run("subscription_billing")
        finally:
            PROBES.enabled = False
        report_first(control, psa, seeded, first, concurrency, args)
        second = runner.run("subscription_billing")
        report_second(control, psa, seeded, second, concurrency, args)
        control.clear_faults()


def report_first(control: Any, psa: Psa, seeded: Seeded, result: RunResult, concurrency: int,
                 args: argparse.Namespace) -> None:
    s = result.summary
    print(f"1. first invoice: status {s['status']}, plan {s.get('plan')}, counts {s['counts']}"
          + (f", ERROR {s['error']}" if "error" in s else ""), flush=True)
    load_found = result.within("load")
    writes, reads = split_calls(result.entries)
    load_writes, load_reads = split_calls(load_found)
    customers = len(result.stage("load"))
    stages = ", ".join(f"{name} {result.span(name):.1f} s" for name in
                       ("extract", "validate", "reconcile", "load", "report"))
    print(f"   stages: {stages}; whole run {result.wall_s:.1f} s; {customers} load partitions (one per customer)")
    print(f"   {psa.system} calls: {len(writes)} writes, {len(reads)} reads; in the load {len(load_writes)} writes + "
          f"{len(load_reads)} reads = {len(load_found)}")
    changed = contract_services(control, psa, seeded)
    expected = len(seeded.customers) * seeded.lines
    verdict = "EQUAL" if len(writes) == len(changed) == expected else "NOT EQUAL"
    print(f"   writes vs changed contract services: {len(writes)} writes ({by_shape(writes)}); "
          f"{len(changed)} {psa.services_table} on the benchmark's contracts (each started empty; expected "
          f"{len(seeded.customers)} customers x {seeded.lines} services = {expected}) -> {verdict}")
    matching, wanted = seats_match(control, psa, seeded)
    print(f"   seats on {seeded.month}: {matching} of {wanted} customers' contracts hold exactly the invoice's seats")
    print(f"   reads in the load: {len(load_reads) / max(1, customers):.2f} per customer ({by_shape(load_reads)})")
    if args.latency_ms > 0 and load_found:
        print_bounds(psa, result, concurrency, args)
    print(f"   sandbox handling per endpoint, ms beyond the latency (mean): {handling(load_found, args.latency_ms)}")
    print_breakdown(customers, result.cpu_s, result.wall_s, load_found)
    if psa.system == "autotask":
        print_limits(control, "after the first run")


def print_bounds(psa: Psa, result: RunResult, concurrency: int, args: argparse.Namespace) -> None:
    """The load and the run against the API lower bound, then against the bound the schedule allows."""
    latency = args.latency_ms / 1000
    load_found, load_s = result.within("load"), result.span("load")
    bound = len(load_found) * latency / concurrency
    other = len(result.entries) - len(load_found)
    run_bound = bound + other * latency
    print(f"   load : {load_s:.1f} s vs bound {len(load_found)} calls x {args.latency_ms:g} ms / {concurrency} = "
          f"{bound:.1f} s -> ratio {load_s / bound:.3f} (target <= {TARGET_RATIO}); "
          f"{result.load_tasks} load task(s) at once")
    print(f"   run  : {result.wall_s:.1f} s vs bound {bound:.1f} s + {other} other calls x {args.latency_ms:g} "
          f"ms = {run_bound:.1f} s -> ratio {result.wall_s / run_bound:.3f} (target <= {TARGET_RATIO})")
    server_s = sum(float(e["duration_ms"]) for e in load_found) / 1000
    print(f"   load vs the sandbox's own durations (latency + its handling) / {concurrency}: "
          f"{server_s / concurrency:.1f} s -> {load_s / (server_s / concurrency):.3f}")
    if result.load_tasks == 1:
        # One customer after another: its writes wait for its reads, and the next customer for its end.
        rounds = sum(math.ceil(len(split_calls(found)[1]) / concurrency)
                     + math.ceil(len(split_calls(found)[0]) / concurrency) for found in result.per_call("load"))
        ideal = sum(ideal_schedule(found, concurrency) for found in result.per_call("load"))
        print(f"   one customer at a time: vs the per-customer bound ({rounds} rounds of {concurrency} calls: "
              f"reads, then writes) {rounds * latency:.1f} s -> {load_s / (rounds * latency):.3f}; vs the "
              f"per-customer schedule on the sandbox's durations (reads at once, then writes on {concurrency} "
              f"workers): {ideal:.1f} s -> {load_s / ideal:.3f} (the rest is this process's own: client, state "
              "store, waiting for a core)")
    elif psa.system == "autotask":
        # Customers overlap: what no schedule beats is the busiest entity's calls on its 3 threads.
        entity, busiest = Counter(shape(e).split(" ", 1)[1].split("/", 1)[0] for e in load_found).most_common(1)[0]
        print(f"   customers overlapping: vs the busiest entity's bound ({busiest} {entity} calls x "
              f"{args.latency_ms:g} ms / {concurrency}) {busiest * latency / concurrency:.1f} s -> "
              f"{load_s / (busiest * latency / concurrency):.3f}")
    else:
        # No per-entity cap (ConnectWise): what holds the calls in flight is the pool's admission.
        allowed = result.load_tasks * concurrency
        wide = len(load_found) * latency / allowed
        print(f"   {psa.system} has no per-entity cap: {result.load_tasks} load tasks x {concurrency} = {allowed} "
              f"calls in flight; load vs {len(load_found)} calls x {args.latency_ms:g} ms / {allowed} = {wide:.1f} s "
              f"-> ratio {load_s / wide:.3f} (target <= {TARGET_RATIO})")


def report_second(control: Any, psa: Psa, seeded: Seeded, result: RunResult, concurrency: int,
                  args: argparse.Namespace) -> None:
    writes, reads = split_calls(result.entries)
    load_found = result.within("load")
    customers = max(1, len(result.stage("load")))
    load_s = result.span("load")
    bound = len(load_found) * args.latency_ms / 1000 / concurrency
    print(f"2. the same invoice again: status {result.summary['status']}, counts {result.summary['counts']}; "
          f"{len(writes)} {psa.system} writes (must be 0), {len(reads)} reads ({len(load_found) / customers:.2f} per "
          f"customer in the load: {by_shape(load_found)})")
    if bound:
        print(f"   load {load_s:.1f} s vs bound {len(load_found)} x {args.latency_ms:g} ms / {concurrency} = "
              f"{bound:.1f} s -> {load_s / bound:.3f}; whole run {result.wall_s:.1f} s")
    if psa.system == "autotask":
        print_limits(control, "after both runs")


def print_limits(control: Any, when: str) -> None:
    seen = autotask_limits(control)
    in_flight = max((seen.get("max_in_flight") or {}).values() or [0])
    print(f"   Autotask counters {when}: {seen['current_timeframe_request_count']} requests in the hour, threshold "
          f"{seen['hourly_threshold']}; refusals {seen['refusals']}; slowed {seen['delayed']}; most calls in flight "
          f"per entity {in_flight} (limit {seen['thread_limit']})")


def print_breakdown(customers: int, cpu_s: float, wall_s: float, load_found: list[dict[str, Any]]) -> None:
    if not customers:
        return
    print("   where the load's time goes (wall seconds in the wrapped function; ms per customer; calls):")
    for label in sorted(PROBES.total, key=lambda n: -PROBES.total[n]):
        total = PROBES.total[label]
        print(f"     {label:<46} {total:8.1f} s {total / customers * 1000:8.1f} ms {PROBES.count[label]:7d}")
    http = PROBES.total.get("HTTP calls (summed over threads)", 0.0)
    server = sum(float(e["duration_ms"]) for e in load_found) / 1000
    calls = max(1, PROBES.count.get("HTTP calls (summed over threads)", 0))
    print(f"     {'of the HTTP time: the sandbox (latency + handling)':<46} {server:8.1f} s; the client, sockets and "
          f"waiting for a core: {(http - server) / calls * 1000:.1f} ms a call")
    print(f"   this process's CPU over the run: {cpu_s:.1f} s = {cpu_s / wall_s * 100:.0f} % of one core")


# ---------------------------------------------------------------------------------------------------
# 3. The hourly budget.


def bench_budget(args: argparse.Namespace, psa: Psa) -> None:
    from channelsync.state import repository

    print(f"\n=== 3. Autotask hourly budget: {args.budget_customers} customers x {args.lines} lines, hourly threshold "
          f"{args.budget_threshold}, {args.latency_ms:g} ms latency ===", flush=True)
    with sandbox_world(args, psa, args.budget_customers) as (control, seeded, state_url):
        runner = Runner(control, state_url, psa)
        prepare(control, runner, psa, args.budget_threshold)
        if args.latency_ms > 0:
            control.set_faults({"kind": "latency", "system": psa.system, "latency_ms": args.latency_ms})
        expected = len(seeded.customers) * seeded.lines
        total_writes = 0
        for attempt in range(1, 30):
            result = runner.run("subscription_billing")
            writes, reads = split_calls(result.entries)
            total_writes += len(writes)
            seen = autotask_limits(control)
            guard = runner.context.psa_client().budget  # the run's own client: its share of the threshold
            share, limit = guard.share, guard.limit
            counts = result.summary["counts"]
            stopped = Counter(call.error for call in result.stage("load") if call.error)
            deferred = Counter(item["error_code"] for item in repository.list_items(state_url, result.summary["run_id"])
                               if item["outcome"] == "deferred")
            budget = deferred.pop("AUTOTASK_BUDGET_GUARD", 0)
            other = f", other deferrals {dict(deferred)}" if deferred else ""
            print(f"   run {attempt}: status {result.summary['status']}; {len(writes)} writes + {len(reads)} reads; "
                  f"items {counts} ({budget} deferred (budget){other}); "
                  f"load tasks failed {dict(stopped) or 0} of {len(result.stage('load'))}; sandbox "
                  f"count {seen['current_timeframe_request_count']} of threshold {seen['hourly_threshold']} (the "
                  f"guard stops at its share {share:.0%} = {limit}); refusals {seen['refusals']}", flush=True)
            changed = len(contract_services(control, psa, seeded))
            if changed >= expected and not counts.get("deferred") and result.summary["status"] != "failure":
                break
            control.advance_clock(seconds=3601)  # past the hour: the rolling window empties
        changed = len(contract_services(control, psa, seeded))
        matching, wanted = seats_match(control, psa, seeded)
        print(f"   in total: {total_writes} writes for {changed} changed contract services (expected {expected}) -> "
              f"{'EQUAL' if total_writes == changed == expected else 'NOT EQUAL'}; {matching} of {wanted} customers' "
              f"contracts hold exactly the invoice's seats (a write sent twice would double one)")
        control.clear_faults()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--psa", choices=["autotask", "connectwise"], default="autotask")
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=None,
                        help="subscriptions (invoice lines) per customer; default 25 (ConnectWise: 20, the monthly "
                             "offers: an annual line there is a Warning item, not a posting)")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--contract-months", type=int, default=1, help="how long each customer's contract runs")
    parser.add_argument("--budget-customers", type=int, default=40, help="customers of the budget part (0: skip)")
    parser.add_argument("--budget-threshold", type=int, default=1000, help="the budget part's hourly threshold")
    parser.add_argument("--skip-main", action="store_true", help="only the budget part")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # internal: the seeded sandbox process
    args = parser.parse_args()
    if args.lines is None:
        args.lines = 25 if args.psa == "autotask" else 20
    if args.serve:
        serve(args)
        return

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # Only errors: per-item warnings and Great Expectations' INFO lines would bury the figures.
    logging.disable(logging.ERROR)
    try:
        from great_expectations.validator.validator import Validator

        Validator._determine_progress_bars = lambda self: False  # type: ignore[method-assign]
    except ImportError:
        pass
    print(machine_facts())
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    install_probes()
    started = time.perf_counter()
    psa = PSAS[args.psa]
    if not args.skip_main:
        bench_main(args, psa)
    if psa.system == "autotask" and args.budget_customers > 0:
        bench_budget(args, psa)
    print(f"\ntotal {time.perf_counter() - started:.0f} s; {machine_facts()}")


if __name__ == "__main__":
    main()
