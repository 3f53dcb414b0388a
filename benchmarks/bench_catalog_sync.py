"""Benchmark: catalog_sync end to end (TD SYNNEX → Autotask / ConnectWise) with emulated PSA latency.

Run: ``.venv/bin/python benchmarks/bench_catalog_sync.py [--psa autotask|connectwise|both]
[--products 20000] [--latency-ms 50] [--concurrency N]``

Per PSA, in one run (sandbox in-process on an ephemeral loopback port at medium scale, a fresh SQLite
state store in a temp dir, the demo integration copied with a category selection that covers
``--products`` TD SYNNEX items: all 12 categories for the full 20,000):

1. Initial sync with ``--latency-ms`` injected on every PSA request. Wall time of the load stage and
   of the whole run against ``calls × latency / concurrency`` (load calls run on ``concurrency``
   workers; the other PSA calls (paging, look-ups) are sequential, so the whole-run target adds them
   at ``calls × latency``). PSA write and read calls from the sandbox request log (writes: POST / PUT /
   PATCH / DELETE except Autotask's ``/query`` and ``/count`` POSTs) and writes per created product
   (Autotask: the product and its ProductVendors row).
2. A second sync, nothing changed: writes (must be 0) and reads vs ⌈PSA products / max page⌉ + constant.
3. A sync after 1 % of the selected prices change at TD SYNNEX: writes / changed products (target
   1.00) and reads.

A breakdown of where the load's time goes is printed with the figures: per operation, the HTTP time
seen by the client (split into the sandbox's own handling, the injected latency and the rest: client,
sockets, GIL), the ledger's ``mark_applied_many`` transactions (batched), and what is left (adapter, loader). It is
measured by wrapping those functions in this process only (no file outside this script is changed).

Not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from probes import Probes  # benchmarks/probes.py: this script's folder is on the path

from channelsync.imports import load_object

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.25


@dataclass(frozen=True)
class Psa:
    integration: str
    max_page: int
    products_table: str
    # A request that reads one page of products (the ⌈N / page⌉ part of the reads).
    page_read: Callable[[dict[str, Any]], bool]


def _path(entry: dict[str, Any]) -> str:
    return str(entry["path"]).lower().rstrip("/")


PSAS = {
    # Autotask pages: POST Products/query, then POST Products/query/next?paging=... (nextPageUrl).
    "autotask": Psa("demo-autotask", 500, "Products",
                    lambda e: e["method"] == "POST" and _path(e).endswith(("/products/query", "/products/query/next"))),
    "connectwise": Psa("demo-connectwise", 1000, "catalogItems",
                       lambda e: e["method"] == "GET" and _path(e).endswith("/procurement/catalog")),
}


# ---------------------------------------------------------------------------------------------------
# Timing probes (probes.py): wrap a few functions so the load's time can be split without touching their files.

PROBES = Probes()


def install_probes() -> None:
    from channelsync.adapters.autotask_products import AutotaskProducts
    from channelsync.adapters.connectwise_products import ConnectWiseProducts
    from channelsync.clients.http import HttpTransport
    from channelsync.state.ledger import Ledger

    PROBES.wrap(HttpTransport, "request", "http")
    PROBES.wrap(Ledger, "mark_applied_many", "mark_applied")
    PROBES.wrap(AutotaskProducts, "execute", "execute")
    PROBES.wrap(ConnectWiseProducts, "execute", "execute")


# ---------------------------------------------------------------------------------------------------
# One run of the template, stage by stage (the same functions ``run_in_process`` calls), timed.


@dataclass
class RunResult:
    summary: dict[str, Any]
    stage_s: dict[str, float]
    wall_s: float
    seq: dict[str, tuple[int, int]]  # stage → (last request seq before, last seq after)
    cpu_s: dict[str, float]  # stage → CPU time of this whole process (all threads: client, sandbox, SQLite)


class Runner:
    def __init__(self, server_url: str, state_url: str, integration: Any, options: dict[str, Any]) -> None:
        from channelsync.connections import SettingsClientFactory, connections_from_settings

        self.connections = connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=server_url)
        self.state_url = state_url
        self.integration = integration
        self.options = options
        self.n = 0
        self.SettingsClientFactory = SettingsClientFactory

    def run(self, control: Any) -> RunResult:
        from channelsync.runs import runner as stages
        from channelsync.runs.context import RunContext
        from channelsync.templates.registry import TEMPLATES

        self.n += 1
        spec = TEMPLATES["catalog_sync"]
        context = RunContext(
            integration=self.integration, template="catalog_sync",
            options=spec.options_model.model_validate(self.options), run_key=f"bench/{self.n}",
            state_url=self.state_url,
            client_factory=self.SettingsClientFactory(self.connections, state_url=self.state_url),
        )
        steps = load_object(spec.steps)()
        results: dict[str, dict[str, Any] | None] = {}
        stage_s: dict[str, float] = {}
        seq: dict[str, tuple[int, int]] = {}
        cpu_s: dict[str, float] = {}
        started = time.perf_counter()
        stage, failed, error = "extract", False, None
        try:
            with _timed(stage_s, seq, control, "extract"):
                results["extract"] = extracted = stages.stage_extract(context, steps)
            stage = "validate"
            with _timed(stage_s, seq, control, "validate"):
                results["validate"] = validated = stages.stage_validate(context, steps, extracted)
            stage = "reconcile"
            with _timed(stage_s, seq, control, "reconcile"):
                results["reconcile"] = planned = stages.stage_reconcile(context, steps, validated)
            stage = "load"
            PROBES.reset()
            PROBES.enabled = True
            cpu_started = time.process_time()
            try:
                with _timed(stage_s, seq, control, "load"):
                    results["load"] = stages.stage_load(context, steps, planned)
            finally:
                PROBES.enabled = False
                cpu_s["load"] = time.process_time() - cpu_started
        except Exception as exc:  # reported with the figures, as run_in_process does
            failed, error = True, exc
            stages.record_stage_failure(context, stage, exc)
        with _timed(stage_s, seq, control, "report"):
            summary = stages.stage_report(context, results, failed=failed)
        if error is not None:
            summary["error"] = f"{type(error).__name__}: {error}"
        return RunResult(summary, stage_s, time.perf_counter() - started, seq, cpu_s)


@contextmanager
def _timed(stage_s: dict[str, float], seq: dict[str, tuple[int, int]], control: Any, name: str) -> Iterator[None]:
    before = last_seq(control)
    started = time.perf_counter()
    try:
        yield
    finally:
        stage_s[name] = time.perf_counter() - started
        seq[name] = (before, last_seq(control))


def last_seq(control: Any) -> int:
    # The request log has no "last seq" call: a clear-free read of the tail is enough here.
    entries = control.requests(since=getattr(control, "_bench_seq", 0))
    if entries:
        control._bench_seq = entries[-1]["seq"]
    return int(getattr(control, "_bench_seq", 0))


# ---------------------------------------------------------------------------------------------------
# Request-log arithmetic.


def is_write(entry: dict[str, Any]) -> bool:
    from channelsync.sandbox.control_client import WRITE_METHODS

    path = entry["path"].lower().rstrip("/")
    return entry["method"] in WRITE_METHODS and not path.endswith(("/query", "/count")) and "/query/" not in path


def split_calls(entries: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    writes = [e for e in entries if is_write(e)]
    reads = [e for e in entries if not is_write(e)]
    return writes, reads


def psa_entries(control: Any, system: str, first: int, last: int) -> list[dict[str, Any]]:
    return [e for e in control.requests(system, since=first) if e["seq"] <= last]


# ---------------------------------------------------------------------------------------------------


def select_categories(control: Any, wanted: int) -> tuple[dict[str, str], int]:
    """Categories in the world's order until the selection holds ``wanted`` TD SYNNEX items."""
    from channelsync.sandbox.world import CATEGORIES

    selection: dict[str, str] = {}
    items = 0
    for code, name in CATEGORIES:  # each PSA emulator knows the world's category names
        if items >= wanted:
            break
        selection[code] = name
        items += len(control.records("tdsynnex", "products", categoryCode=code))
    return selection, items


def machine_facts() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), load average {load}; "
            f"Python {platform.python_version()} on {platform.system()} {platform.release()}")


def bench_psa(server: Any, control: Any, system: str, args: argparse.Namespace, state_dir: Path) -> None:
    from channelsync.config import load_config
    from channelsync.state.db import upgrade

    psa = PSAS[system]
    print(f"\n=== {system} ({psa.integration}) ===", flush=True)
    control.reset(scale="medium", seed=args.seed)
    if system == "autotask":
        # As tests/e2e/psa_probe.lift_hourly_threshold: a real tenant's first load is spread over hours
        # by the budget guard; the benchmark measures the load, not the wait.
        control.control("autotask", "limits", json={"hourly_threshold": 10_000_000})
    state_url = f"sqlite:///{state_dir / f'state-{system}.db'}"
    upgrade(state_url)

    categories, selected_items = select_categories(control, args.products)
    demo = load_config(ROOT / "config" / "integrations.yaml").get(psa.integration)
    base = dict(demo.templates["catalog_sync"].options)
    options = {**base, "category_map": categories}
    if args.concurrency:
        options["load"] = {**(base.get("load") or {}), "concurrency": args.concurrency}
    from channelsync.templates.catalog_sync.options import CatalogSyncOptions

    concurrency = CatalogSyncOptions.model_validate(options).load.concurrency
    latency_s = args.latency_ms / 1000
    print(f"selection: {len(categories)} categories ({', '.join(categories)}), {selected_items} TD SYNNEX items; "
          f"load concurrency {concurrency}; {args.latency_ms:g} ms on every {system} request", flush=True)
    runner = Runner(server.url, state_url, demo, options)
    if args.latency_ms > 0:
        control.set_faults({"kind": "latency", "system": system, "latency_ms": args.latency_ms})

    # 1. initial sync ---------------------------------------------------------------------------
    first = runner.run(control)
    s = first.summary
    print(f"1. initial sync: status {s['status']}, plan {s.get('plan')}, counts {s['counts']}"
          + (f", ERROR {s['error']}" if "error" in s else ""))
    if "load" not in first.stage_s:
        print("   the run stopped before the load: no figures")
        return
    run_entries = psa_entries(control, system, first.seq["extract"][0], first.seq["report"][1])
    load_entries = psa_entries(control, system, *first.seq["load"])
    writes, reads = split_calls(run_entries)
    load_writes, load_reads = split_calls(load_entries)
    created = s["counts"].get("created", 0)
    create_writes = sum(1 for e in load_writes if e["method"] == "POST")
    other_calls = len(run_entries) - len(load_entries)
    load_target = len(load_entries) * latency_s / concurrency
    run_target = load_target + other_calls * latency_s
    stages_text = ", ".join(f"{k} {v:.1f} s" for k, v in first.stage_s.items())
    print(f"   stages: {stages_text}; whole run {first.wall_s:.1f} s")
    print(f"   {system} calls: {len(writes)} writes, {len(reads)} reads ({len(load_writes)} writes + "
          f"{len(load_reads)} reads in the load stage); {create_writes} POSTs for {created} created products = "
          f"{create_writes / created if created else float('nan'):.3f} writes per created product; "
          f"{len(load_writes) - create_writes} other writes for {s['counts'].get('updated', 0)} updates")
    if args.latency_ms > 0:
        print(f"   load : {first.stage_s['load']:.1f} s vs target {len(load_entries)} calls x {args.latency_ms:g} ms / "
              f"{concurrency} = {load_target:.1f} s -> ratio {first.stage_s['load'] / load_target:.3f} "
              f"(target <= {TARGET_RATIO})")
        print(f"   run  : {first.wall_s:.1f} s vs target {load_target:.1f} s + {other_calls} sequential calls x "
              f"{args.latency_ms:g} ms = {run_target:.1f} s -> ratio {first.wall_s / run_target:.3f}; "
              f"vs all {len(run_entries)} calls / {concurrency}: "
              f"{first.wall_s / (len(run_entries) * latency_s / concurrency):.3f}")
    print_breakdown(load_entries, first.stage_s["load"], concurrency, args.latency_ms, s["counts"])
    if "load" in first.cpu_s:
        print(f"   process CPU during the load: {first.cpu_s['load']:.1f} s = "
              f"{first.cpu_s['load'] / first.stage_s['load'] * 100:.0f} % of one core (one GIL for client, sandbox "
              f"and SQLite: near 100 % means the workers queue for the interpreter)")

    # 2. nothing changed ----------------------------------------------------------------------------
    second = runner.run(control)
    entries = psa_entries(control, system, second.seq["extract"][0], second.seq["report"][1])
    writes, reads = split_calls(entries)
    in_psa = len(control.records(system, psa.products_table))
    pages = sum(1 for e in reads if psa.page_read(e))
    floor = math.ceil(in_psa / psa.max_page)
    print(f"2. nothing changed: status {second.summary['status']}, {len(writes)} writes (must be 0), "
          f"{len(reads)} reads = {pages} product pages (ceil({in_psa} / {psa.max_page}) = {floor}) + "
          f"{len(reads) - pages} other; {second.wall_s:.1f} s")

    # 3. 1 % of the prices change at TD SYNNEX ------------------------------------------------------
    selected = sorted(
        p["synnexSKU"] for code in categories for p in control.records("tdsynnex", "products", categoryCode=code)
        if p["status"] == "Active" and p.get("authorized", True)
    )
    changed = selected[::100]
    for sku in changed:
        record = control.record("tdsynnex", "products", sku)
        control.edit_record("tdsynnex", "products", sku, {"price": f"{float(record['price']) + 1.37:.2f}"})
    third = runner.run(control)
    entries = psa_entries(control, system, third.seq["extract"][0], third.seq["report"][1])
    writes, reads = split_calls(entries)
    pages = sum(1 for e in reads if psa.page_read(e))
    print(f"3. 1 % price change: {len(changed)} of {len(selected)} products changed; status "
          f"{third.summary['status']}, plan {third.summary.get('plan')}; {len(writes)} writes -> writes / changed "
          f"{len(writes) / len(changed):.2f} (target 1.00); {len(reads)} reads ({pages} product pages + "
          f"{len(reads) - pages} other); {third.wall_s:.1f} s (load {third.stage_s['load']:.1f} s)")
    control.clear_faults()


def print_breakdown(load_entries: list[dict[str, Any]], load_s: float, concurrency: int, latency_ms: float,
                    counts: dict[str, int]) -> None:
    """Where the workers' time went during the load (sums over all worker threads)."""
    ops = sum(counts.get(k, 0) for k in ("created", "updated", "deactivated", "failed"))
    if not ops or not load_entries:
        return
    worker_s = load_s * concurrency  # the time the workers had
    http_s, http_n = PROBES.total["http"], PROBES.count["http"]
    sandbox_s = sum(e["duration_ms"] for e in load_entries) / 1000  # handler + injected latency, server side
    latency_s = len(load_entries) * latency_ms / 1000
    ledger_s, execute_s = PROBES.total["mark_applied"], PROBES.total["execute"]

    def line(label: str, seconds: float) -> str:
        return (f"     {label:<44} {seconds:8.1f} s  {seconds / ops * 1000:7.2f} ms/op  "
                f"{seconds / worker_s * 100:5.1f} %")

    print(f"   load breakdown ({ops} operations, {http_n} HTTP calls, {concurrency} workers x {load_s:.1f} s = "
          f"{worker_s:.1f} worker-s):")
    print(line("injected latency (calls x latency)", latency_s))
    print(line("sandbox handling (server duration - latency)", sandbox_s - latency_s))
    print(line("client + sockets + GIL (HTTP time - server)", http_s - sandbox_s))
    print(line("adapter outside HTTP (execute - HTTP)", execute_s - http_s))
    print(line("ledger marks (batched SQLite transactions)", ledger_s))
    print(line("rest (loader, idle workers, tail)", worker_s - execute_s - ledger_s))
    # The sandbox's handling per endpoint (server-side duration minus the injected latency): a handler
    # whose cost grows with the table shows up here, and its share of the load is the first half's vs
    # the second half's (a flat handler keeps the same mean in both).
    endpoints: dict[str, list[float]] = defaultdict(list)
    for entry in load_entries:
        endpoints[f"{entry['method']} {_shape(entry['path'])}"].append(entry["duration_ms"] - latency_ms)
    print("   sandbox handling per endpoint (ms per call beyond the latency: mean, first half, second half):")
    for name, values in sorted(endpoints.items(), key=lambda kv: -sum(kv[1]))[:4]:
        half = max(1, len(values) // 2)
        print(f"     {name:<58} {len(values):6d} calls  {sum(values) / len(values):6.2f}  "
              f"{sum(values[:half]) / half:6.2f}  {sum(values[half:]) / max(1, len(values) - half):6.2f}")


def _shape(path: str) -> str:
    """``/ATServicesRest/V1.0/Products/123/Vendors`` → ``.../Products/{id}/Vendors``."""
    parts = ["{id}" if part.isdigit() else part for part in path.split("/")]
    return "/".join(parts[-3:]) if len(parts) > 3 else "/".join(parts)


def quiet_great_expectations() -> None:
    """No metric progress bars on stderr (the suite's ephemeral context does not turn them off)."""
    try:
        from great_expectations.validator.validator import Validator
    except ImportError:
        return
    Validator._determine_progress_bars = lambda self: False  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--psa", choices=["autotask", "connectwise", "both"], default="both")
    parser.add_argument("--products", type=int, default=20_000,
                        help="TD SYNNEX items to select (whole categories, in order, until reached)")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=0, help="load workers (default: the option's 3)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--switch-interval-ms", type=float, default=0.0,
                        help="diagnostic: the GIL switch interval (Python's default 5 ms); client, sandbox and "
                             "SQLite share one interpreter here, so a thread woken by a reply waits for it")
    args = parser.parse_args()
    if args.switch_interval_ms > 0:
        sys.setswitchinterval(args.switch_interval_ms / 1000)

    state_dir = Path(tempfile.mkdtemp(prefix="bench-catalog-sync-"))
    os.environ["CHANNELSYNC_HOME"] = str(state_dir / "home")
    os.environ.pop("CHANNELSYNC_STATE_URL", None)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # Only errors: per-item warnings and Great Expectations' INFO lines would bury the figures (Airflow's
    # logging setup, imported on the way, re-levels the loggers, so a global floor is the dependable way).
    logging.disable(logging.WARNING)
    quiet_great_expectations()

    from channelsync.sandbox.control_client import SandboxControl
    from channelsync.sandbox.server import SandboxServer

    print(machine_facts())
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}; GIL switch interval "
          f"{sys.getswitchinterval() * 1000:g} ms")
    install_probes()
    started = time.perf_counter()
    server = SandboxServer(host="127.0.0.1", port=0, scale="medium", seed=args.seed).start()
    control = SandboxControl(server.url)
    try:
        for system in (["autotask", "connectwise"] if args.psa == "both" else [args.psa]):
            bench_psa(server, control, system, args, state_dir)
    finally:
        server.stop()
    print(f"\ntotal {time.perf_counter() - started:.0f} s; {machine_facts()}")


if __name__ == "__main__":
    main()
