"""Benchmark: submit_orders then order_status for N purchase orders with emulated latency.

Run: ``.venv/bin/python benchmarks/bench_orders.py [--psa autotask|connectwise] [--orders 1000]
[--latency-ms 50] [--parallel N] [--faults] [--state-url URL]``

The sandbox runs in its own process (small scale); a fresh SQLite state store in a temp dir. N POs of one
line are made through the PSA's REST API (before any latency is injected), then ``--latency-ms`` is added
to every TD SYNNEX and PSA request and:

1. submit_orders: extract, validate, reconcile, then the mapped load — one partition per PO, run on threads
   as Airflow runs the mapped task instances within the PSA's pool (``airflow_settings.yaml``: a PO's task
   takes 1 slot, so Autotask's 8-slot pool runs 8 at once, ConnectWise's 4; ``--parallel`` overrides). Runs
   again until one plans nothing: that last, quiet run is timed apart (it checks, it submits nothing);
2. TD SYNNEX ships and invoices every order; order_status polls them (4 POs in flight: PO status, then the
   invoice query; then the PSA updates on ``load.concurrency`` workers);
3. order_status again, nothing moved: PSA writes (must be 0); every PO is complete (shipped and invoiced in
   full), so TD SYNNEX is not asked again.

Before anything is timed, the process imports what an Airflow worker has loaded when a task starts (Airflow's
SDK, the DAG file's modules); what a task imports itself (the template, Great Expectations) is timed. Each
run prints its stages' wall times.

The API lower bound (every call the sandbox logged, at ``latency`` each):

- submit_orders (:func:`submit_bound`): the stages run one after another, so their bounds add up. The
  extract's calls (pages, P&A batches, look-ups) are sequential, but ConnectWise's line-item reads (one per
  PO) 4 at once, as its adapter sends them. In the load, the PO tasks overlap: it needs
  at least the longest of (a) the PSA write-backs on the PSA's cap of calls in flight (Autotask: 3 per
  entity, and every write-back is on PurchaseOrders; ConnectWise: no per-entity cap, the tasks at once),
  (b) the TD SYNNEX submissions on the tasks at once (TD SYNNEX documents no concurrency limit), and (c) each
  task's own chain, submission then write-back, over its share of the POs;
- order_status (:func:`status_bound`): its phases run one after another as the design does them: PO status,
  invoice queries and ConnectWise line-item reads 4 at once, PSA updates on ``load.concurrency`` (3)
  workers, the rest one after another.

``--batched`` runs submit_orders' load as one task instead (``apply`` of every PO at once: the loader claims
and marks in chunks and sends on ``load.concurrency`` workers), to show what the per-PO tasks cost.

``--faults`` adds the fault test's mix (10 % 5xx, 5 % timeouts, 5 % lost PO answers) and reruns until quiet,
then counts TD SYNNEX's orders: 0 lost, 0 duplicates. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_RATIO = 1.25


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--psa", choices=["autotask", "connectwise"], default="connectwise")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--parallel", type=int, default=None,
                        help="PO load tasks at once (default: what the PSA's pool in airflow_settings.yaml admits)")
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--state-url", default=None,
                        help="an empty state store to use (e.g. a PostgreSQL database); default: SQLite in a temp dir")
    parser.add_argument("--batched", action="store_true",
                        help="submit_orders' load as one task (the loader's workers) instead of one per PO")
    args = parser.parse_args()

    warm_worker()
    from benchmarks.sandbox_process import sandbox_process
    from channelsync.sandbox.control_client import SandboxControl
    from channelsync.state.db import upgrade
    from tests.e2e.orders_probe import OrderDesk, tds_duplicate_submissions, tds_orders

    integration = f"demo-{args.psa}"
    with sandbox_process("small") as url, tempfile.TemporaryDirectory() as home:
        tasks = args.parallel or load_tasks(args.psa, url)
        print(f"load average {os.getloadavg()}; {args.orders} POs on {args.psa}, latency {args.latency_ms} ms, "
              f"{'one batched load task' if args.batched else f'{tasks} PO load task(s) at once'}")
        os.environ["CHANNELSYNC_HOME"] = home
        state_url = args.state_url or f"sqlite:///{home}/state.db"
        os.environ["CHANNELSYNC_STATE_URL"] = state_url
        upgrade(state_url)
        control = SandboxControl(url)
        if args.psa == "autotask":
            control.control("autotask", "limits", json={"hourly_threshold": 1_000_000})
        desk = OrderDesk(control, integration, url)
        started = time.monotonic()
        numbers = desk.make_valid(args.orders, lines=1)
        print(f"made {len(numbers)} POs in {time.monotonic() - started:.1f} s (no latency)")
        latency = args.latency_ms / 1000
        rules: list[dict[str, Any]] = [{"kind": "latency", "latency_ms": args.latency_ms, "system": s}
                                       for s in ("tdsynnex", args.psa)]
        if args.faults:
            from tests.e2e.fault_runner import fault_mix

            rules = [*fault_mix("tdsynnex", [("write_then_drop", "POST", "SynnexXML/PO$", 0.05)]),
                     *fault_mix(args.psa), *rules]
        control.set_faults(*rules)
        control.clear_requests()

        runs, submitted_wall = 0, 0.0
        while runs < 8:
            runs += 1
            logged = len(control.requests())
            wall, summary = timed(lambda n=runs: run(integration, "submit_orders", url, state_url, tasks, n,
                                                     batched=args.batched))
            if not summary["plan"].get("submit"):  # the quiet run: nothing was left to submit
                print(f"submit_orders run {runs} planned nothing: {wall:.1f} s (not in the figure below)")
                entries = control.requests()[:logged]
                break
            submitted_wall += wall
            entries = control.requests()
        in_flight = 3 if args.batched else tasks  # the batched load's workers: load.concurrency
        submit_lower = submit_bound(entries, latency, tasks=in_flight, psa_cap=PSA_CAP[args.psa] or in_flight)
        print(f"submit_orders: {runs - 1 if runs > 1 else runs} run(s) that submitted, {submitted_wall:.1f} s; calls "
              f"{calls_by_system(entries)}; lower bound {submit_lower:.1f} s → {submitted_wall / submit_lower:.2f}×")

        for number in numbers:
            desk.move(number, "ship", invoice=True)
        control.clear_requests()
        wall, summary = timed(lambda: run(integration, "order_status", url, state_url, tasks, 100))
        entries = control.requests()
        status_lower = status_bound(entries, latency)
        print(f"order_status (all shipped): {wall:.1f} s, {summary['counts']}; calls {calls_by_system(entries)}; "
              f"lower bound {status_lower:.1f} s → {wall / status_lower:.2f}×")
        both, both_lower = submitted_wall + wall, submit_lower + status_lower
        print(f"{len(numbers)} POs submitted and then tracked: {both:.1f} s; lower bound {both_lower:.1f} s → "
              f"{both / both_lower:.2f}× (target ≤ {TARGET_RATIO}×)")
        control.clear_requests()
        wall, summary = timed(lambda: run(integration, "order_status", url, state_url, tasks, 101))
        from tests.e2e.conftest import writes

        tds_calls = calls_by_system(control.requests()).get("tdsynnex", 0)
        print(f"order_status (nothing moved): {wall:.1f} s, {summary['status']}, PSA writes "
              f"{len(writes(control, args.psa))}, TD SYNNEX calls {tds_calls}")
        control.clear_faults()
        orders = tds_orders(control)
        print(f"TD SYNNEX orders {len(orders)} for {len(numbers)} POs: lost {len(set(numbers) - set(orders))}, "
              f"duplicate submissions {sum(tds_duplicate_submissions(control).values())}")


# Calls a PSA takes at once on the entity the PO write-backs go to (None: no per-entity cap).
PSA_CAP: dict[str, int | None] = {"autotask": 3, "connectwise": None}  # docs/vendors/autotask.md §A.9


def warm_worker() -> None:
    """Import what an Airflow worker has loaded before it runs a task: Airflow's SDK and the DAG file's modules
    (the template's own steps, its clients and Great Expectations are imported by the tasks, and timed)."""
    import airflow.sdk  # noqa: F401

    import channelsync.dagfactory  # noqa: F401


def load_tasks(psa: str, sandbox_url: str) -> int:
    """How many PO load tasks Airflow runs at once in the PSA's pool of the demo."""
    from benchmarks.pools import psa_pool_slots
    from channelsync.config import load_config
    from channelsync.templates.registry import TEMPLATES

    options = load_config(ROOT / "config" / "integrations.yaml").get(f"demo-{psa}").templates["submit_orders"].options
    return TEMPLATES["submit_orders"].load_tasks_at_once(options, psa_pool_slots(psa, sandbox_url))


def timed(action: Any) -> tuple[float, Any]:
    started = time.monotonic()
    result = action()
    return time.monotonic() - started, result


READS_IN_FLIGHT = 4  # PO status, invoice queries, ConnectWise line-item reads (the adapters' pools of 4)


def _is_po_submission(entry: dict[str, Any]) -> bool:
    return str(entry["path"]).rstrip("/").lower().endswith("synnexxml/po")


def _is_psa_write(entry: dict[str, Any]) -> bool:
    path, method = str(entry["path"]).rstrip("/").lower(), entry["method"]
    return method in ("PATCH", "PUT") or (method == "POST" and "/query" not in path and "synnexxml" not in path)


def _is_read_in_pool(entry: dict[str, Any]) -> bool:
    """A read the adapters send :data:`READS_IN_FLIGHT` at once (one per PO; there is no cross-PO query)."""
    path, method = str(entry["path"]).rstrip("/").lower(), entry["method"]
    return path.endswith(("synnexxml/postatus", "webservice/invoice/query")) or (
        method == "GET" and path.endswith("/lineitems"))


def _sequential(entries: list[dict[str, Any]], latency: float) -> float:
    """Every call that is neither a per-PO write nor a pooled read, one after another; pooled reads 4 at once."""
    pooled = sum(1 for e in entries if _is_read_in_pool(e))
    return (len(entries) - pooled) * latency + pooled * latency / READS_IN_FLIGHT


def submit_bound(entries: list[dict[str, Any]], latency: float, *, tasks: int, psa_cap: int) -> float:
    """The extract's calls (pages, P&A, ConnectWise line items 4 at once), then the load's overlapped PO tasks:
    the longest of the PSA write-backs on ``min(tasks, psa_cap)`` calls in flight, the TD SYNNEX submissions on
    ``tasks``, and every PO's two calls in a row on ``tasks`` (module docstring)."""
    submissions = [e for e in entries if _is_po_submission(e)]
    writes = [e for e in entries if _is_psa_write(e)]
    rest = [e for e in entries if not _is_po_submission(e) and not _is_psa_write(e)]
    load = max(len(writes) * latency / min(tasks, psa_cap), len(submissions) * latency / tasks,
               (len(submissions) + len(writes)) * latency / tasks)
    return _sequential(rest, latency) + load


def status_bound(entries: list[dict[str, Any]], latency: float, *, workers: int = 3) -> float:
    """order_status' phases one after another: PO status, invoice queries and ConnectWise line-item reads 4 at
    once, PSA updates on the load's ``workers``, every other call (pages, look-ups) one after another."""
    writes = [e for e in entries if _is_psa_write(e)]
    return _sequential([e for e in entries if not _is_psa_write(e)], latency) + len(writes) * latency / workers


def calls_by_system(entries: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["system"]] = counts.get(entry["system"], 0) + 1
    return counts


def run(integration: str, template: str, url: str, state_url: str, parallel: int, number: int, *,
        batched: bool = False) -> dict[str, Any]:
    """The five stages as the DAG runs them, the mapped load on ``parallel`` threads."""
    from channelsync.config import load_config
    from channelsync.connections import SettingsClientFactory, connections_from_settings
    from channelsync.imports import load_object
    from channelsync.runs import runner
    from channelsync.runs.context import RunContext
    from channelsync.templates.registry import TEMPLATES

    config = load_config(ROOT / "config" / "integrations.yaml").get(integration)
    spec = TEMPLATES[template]
    factory = SettingsClientFactory(connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=url),
                                    state_url=state_url)

    shared: dict[tuple[str, str], Any] = {}  # one set of clients (sessions, discovered zone / codebase)

    def context() -> RunContext:
        return RunContext(integration=config, template=template,
                          options=spec.options_model.model_validate(config.templates[template].options),
                          run_key=f"bench/{template}/{number}", state_url=state_url, client_factory=factory,
                          _clients=shared)

    stages: dict[str, float] = {}

    def stage(name: str, action: Any) -> Any:
        began = time.monotonic()
        try:
            return action()
        finally:
            stages[name] = time.monotonic() - began

    steps = stage("import", lambda: load_object(spec.steps)())
    first = context()
    results: dict[str, Any] = {}
    try:
        results["extract"] = stage("extract", lambda: runner.stage_extract(first, steps))
        results["validate"] = stage("validate", lambda: runner.stage_validate(first, steps, results["extract"]))
        planned = results["reconcile"] = stage("reconcile",
                                               lambda: runner.stage_reconcile(first, steps, results["validate"]))
        if planned.get("partitions") and not batched:
            def load(partition: str) -> dict[str, Any]:
                return runner.stage_load(context(), steps, planned, partition=partition)  # a task of its own

            def mapped() -> None:
                with ThreadPoolExecutor(max_workers=parallel) as pool:
                    list(pool.map(lambda p: _quietly(load, p), planned["partitions"]))

            stage("load", mapped)
        else:
            stage("load", lambda: runner.stage_load(first, steps, planned))
        return stage("report", lambda: runner.stage_report(first, results, failed=False))
    except Exception as exc:  # a faulty run: the next one picks up
        runner.record_stage_failure(first, "bench", exc)
        summary = runner.stage_report(first, results, failed=True)
        summary["plan"] = summary.get("plan") or {"submit": 1}
        return summary
    finally:
        print(f"  {template} run {number} stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in stages.items()))


def _quietly(load: Any, partition: str) -> Any:
    try:
        return load(partition)
    except Exception as exc:  # one failed task instance; the next run retries it
        return {"error": str(exc)}


if __name__ == "__main__":
    main()
