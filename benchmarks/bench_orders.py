"""Benchmark: submit_orders then order_status for N purchase orders with emulated latency.

Run: ``.venv/bin/python benchmarks/bench_orders.py [--psa autotask|connectwise] [--orders 1000]
[--latency-ms 50] [--parallel 3] [--faults] [--state-url URL]``

The sandbox runs in its own process (small scale); a fresh SQLite state store in a temp dir. N POs of one
line are made through the PSA's REST API (before any latency is injected), then ``--latency-ms`` is added
to every TD SYNNEX and PSA request and:

1. submit_orders: extract, validate, reconcile, then the mapped load — one partition per PO, run on
   ``--parallel`` threads as Airflow runs the mapped task instances within the PSA pool's slots (a PO's task
   takes 1 slot; the default 3 is what its write-back may have in flight on Autotask's PurchaseOrders:
   more tasks would only wait for the entity's leases);
2. TD SYNNEX ships and invoices every order; order_status polls them (4 POs in flight: PO status, then the
   invoice query; then the PSA updates on ``load.concurrency`` workers);
3. order_status again, nothing moved: PSA writes (must be 0); every PO is complete (shipped and invoiced in
   full), so TD SYNNEX is not asked again.

The API lower bound of each (:func:`lower_bound`) is every call the sandbox logged at ``latency``, divided by
the concurrency the design allows that kind of call: per-PO writes by the load's, PO status, invoice queries
and ConnectWise line-item reads by 4, the rest (pages, P&A batches, look-ups) one after another.

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
    parser.add_argument("--parallel", type=int, default=3)
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--state-url", default=None,
                        help="an empty state store to use (e.g. a PostgreSQL database); default: SQLite in a temp dir")
    parser.add_argument("--batched", action="store_true",
                        help="submit_orders' load as one task (the loader's workers) instead of one per PO")
    args = parser.parse_args()

    from benchmarks.sandbox_process import sandbox_process
    from channelsync.sandbox.control_client import SandboxControl
    from channelsync.state.db import upgrade
    from tests.e2e.orders_probe import OrderDesk, tds_duplicate_submissions, tds_orders

    integration = f"demo-{args.psa}"
    print(f"load average {os.getloadavg()}; {args.orders} POs on {args.psa}, latency {args.latency_ms} ms, "
          f"{args.parallel} load task(s) at once")
    with sandbox_process("small") as url, tempfile.TemporaryDirectory() as home:
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

        runs = 0
        submitted_wall = 0.0
        while True:
            runs += 1
            wall, summary = timed(lambda n=runs: run(integration, "submit_orders", url, state_url, args.parallel, n,
                                                     batched=args.batched))
            submitted_wall += wall
            if not summary["plan"].get("submit") or runs >= 8:
                break
        calls = calls_by_system(control)
        bound = lower_bound(control, latency, per_po_in_flight=args.parallel)
        print(f"submit_orders: {runs} run(s), {submitted_wall:.1f} s; calls {calls}; lower bound {bound:.1f} s "
              f"→ {submitted_wall / bound:.2f}× (target ≤ {TARGET_RATIO}×)")

        for number in numbers:
            desk.move(number, "ship", invoice=True)
        control.clear_requests()
        wall, summary = timed(lambda: run(integration, "order_status", url, state_url, args.parallel, 100))
        calls = calls_by_system(control)
        bound = lower_bound(control, latency, per_po_in_flight=3)
        print(f"order_status (all shipped): {wall:.1f} s, {summary['counts']}; calls {calls}; lower bound "
              f"{bound:.1f} s → {wall / bound:.2f}× (target ≤ {TARGET_RATIO}×)")
        control.clear_requests()
        wall, summary = timed(lambda: run(integration, "order_status", url, state_url, args.parallel, 101))
        from tests.e2e.conftest import writes

        print(f"order_status (nothing moved): {wall:.1f} s, {summary['status']}, PSA writes "
              f"{len(writes(control, args.psa))}, TD SYNNEX calls {calls_by_system(control).get('tdsynnex', 0)}")
        control.clear_faults()
        orders = tds_orders(control)
        print(f"TD SYNNEX orders {len(orders)} for {len(numbers)} POs: lost {len(set(numbers) - set(orders))}, "
              f"duplicate submissions {sum(tds_duplicate_submissions(control).values())}")


def timed(action: Any) -> tuple[float, Any]:
    started = time.monotonic()
    result = action()
    return time.monotonic() - started, result


def lower_bound(control: Any, latency: float, *, per_po_in_flight: int) -> float:
    """The time the calls in the request log need at ``latency`` each, with the concurrency the design
    allows each kind: per-PO writes (PO submission, PSA write-back / update) ``per_po_in_flight`` at once
    (mapped load tasks, or the loader's workers); PO status, invoice queries and ConnectWise line-item reads
    4 at once; every other call (pages, P&A batches, look-ups) one after another."""
    total = 0.0
    for entry in control.requests():
        path, method = str(entry["path"]).rstrip("/").lower(), entry["method"]
        if path.endswith(("synnexxml/postatus", "webservice/invoice/query")) or (
                method == "GET" and path.endswith("/lineitems")):
            total += latency / 4
        elif path.endswith("synnexxml/po") or (method in ("PATCH", "PUT") or (
                method == "POST" and "/query" not in path and "synnexxml" not in path)):
            total += latency / per_po_in_flight
        else:
            total += latency
    return total


def calls_by_system(control: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in control.requests():
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

    steps = load_object(spec.steps)()
    first = context()
    results: dict[str, Any] = {}
    try:
        results["extract"] = runner.stage_extract(first, steps)
        results["validate"] = runner.stage_validate(first, steps, results["extract"])
        planned = results["reconcile"] = runner.stage_reconcile(first, steps, results["validate"])
        if planned.get("partitions") and not batched:
            def load(partition: str) -> dict[str, Any]:
                return runner.stage_load(context(), steps, planned, partition=partition)  # a task of its own

            with ThreadPoolExecutor(max_workers=parallel) as pool:
                list(pool.map(lambda p: _quietly(load, p), planned["partitions"]))
        else:
            runner.stage_load(first, steps, planned)
        return runner.stage_report(first, results, failed=False)
    except Exception as exc:  # a faulty run: the next one picks up
        runner.record_stage_failure(first, "bench", exc)
        summary = runner.stage_report(first, results, failed=True)
        summary["plan"] = summary.get("plan") or {"submit": 1}
        return summary


def _quietly(load: Any, partition: str) -> Any:
    try:
        return load(partition)
    except Exception as exc:  # one failed task instance; the next run retries it
        return {"error": str(exc)}


if __name__ == "__main__":
    main()
