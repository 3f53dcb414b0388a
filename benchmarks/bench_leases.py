"""Benchmark: what the cross-process Autotask thread cap (state-store leases) costs per call.

Run: ``.venv/bin/python benchmarks/bench_leases.py [--calls 900] [--latency-ms 50] [--postgres URL]``
(``--postgres`` defaults to ``CHANNELSYNC_TEST_POSTGRES_URL``; a throw-away database is created).

1. Without HTTP: one ``LeaseCap.slot()`` that reuses the process's sticky lease, and one
   ``LeaseStore.acquire`` + ``release`` pair (the two transactions a non-sticky lease would cost per call).
2. ``--calls`` ``GET Products/{id}`` from 3 threads, every call held ``--latency-ms`` in flight by
   the sandbox (its own process), with the in-process cap and with the lease cap: wall time against
   the lower bound calls × latency / 3, and the added time per call.
3. The same calls split over two processes sharing the leases (they hand slots to each other): wall
   time, and the sandbox's high-water mark and thread-limit refusals (must be ≤ 3 and 0).

Not a test: it prints figures and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox_process import sandbox_process

from channelsync.clients.autotask import AutotaskClient
from channelsync.clients.http import RetryPolicy
from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl
from channelsync.state import db
from channelsync.state.leases import LeaseCap, LeaseStore

CREDS = demo_credentials.AUTOTASK
THREADS = 3


def client(sandbox_url: str, state_url: str | None) -> AutotaskClient:
    return AutotaskClient(base_url=f"{sandbox_url}/autotask", username=CREDS["username"], secret=CREDS["secret"],
                          integration_code=CREDS["integration_code"], state_url=state_url,
                          policy=RetryPolicy(max_attempts=3, backoff_base=0.05), budget_check_every=10_000)


def run_calls(at: AutotaskClient, calls: int) -> float:
    """``calls`` GETs from THREADS threads; wall seconds."""
    at.get("Products", 1)  # zone discovery, first lease, connections
    counter = iter(range(calls))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            at.get("Products", 1 + index % 400)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    at.release_slots()
    return wall


def micro(state_url: str, label: str) -> None:
    cap = LeaseCap(LeaseStore(state_url), 3)
    with cap.slot("bench|micro"):
        pass
    started = time.perf_counter()
    for _ in range(20_000):
        with cap.slot("bench|micro"):
            pass
    sticky_us = (time.perf_counter() - started) / 20_000 * 1e6
    cap.close()
    store = LeaseStore(state_url)
    started = time.perf_counter()
    for _ in range(200):
        lease = store.acquire("bench|pair", 3)
        store.release(lease.key, lease.slot)
    pair_ms = (time.perf_counter() - started) / 200 * 1000
    print(f"  {label:<10} sticky slot() {sticky_us:6.1f} µs/call | acquire+release pair {pair_ms:5.2f} ms/call")


def worker(sandbox_url: str, state_url: str, calls: int) -> None:
    at = client(sandbox_url, state_url)
    at.get("Products", 1)
    print("ready", flush=True)
    sys.stdin.readline()
    wall = run_calls(at, calls)
    stats = at.cap.stats if isinstance(at.cap, LeaseCap) else None
    print(json.dumps({"wall": wall, "stats": stats.__dict__ if stats else None}), flush=True)


def two_processes(sandbox_url: str, state_url: str, calls: int) -> tuple[float, list[dict[str, object]]]:
    args = [sys.executable, __file__, "--worker", sandbox_url, state_url, str(calls // 2)]
    procs = [subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outcome = [json.loads(proc.stdout.readline()) for proc in procs if proc.stdout is not None]
    wall = time.perf_counter() - started
    for proc in procs:
        proc.wait(timeout=60)
    return wall, outcome


@contextmanager
def postgres(url: str | None) -> Iterator[str | None]:
    if not url:
        yield None
        return
    from sqlalchemy import create_engine, text

    name = f"cs_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=900)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--postgres", default=os.environ.get("CHANNELSYNC_TEST_POSTGRES_URL"))
    parser.add_argument("--worker", nargs=3, metavar=("SANDBOX", "STATE", "CALLS"))
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], int(args.worker[2]))
        return
    with tempfile.TemporaryDirectory() as tmp, postgres(args.postgres) as pg_url:
        stores = {"sqlite": f"sqlite:///{Path(tmp) / 'state.db'}"}
        if pg_url:
            stores["postgresql"] = pg_url
        for url in stores.values():
            db.upgrade(url)
        print("1. lease cost without HTTP")
        for label, url in stores.items():
            micro(url, label)
        bound = args.calls * args.latency_ms / 1000 / THREADS
        print(f"2. {args.calls} calls, {THREADS} threads, {args.latency_ms:.0f} ms in flight each: "
              f"lower bound {bound:.2f} s")
        with sandbox_process() as sandbox_url:
            control = SandboxControl(sandbox_url)
            control.control("autotask", "limits", json={"processing_ms": args.latency_ms, "hourly_threshold": 10**7})
            base = run_calls(client(sandbox_url, None), args.calls)
            print(f"  in-process cap      {base:6.2f} s  {base / bound:5.3f}x bound")
            for label, url in stores.items():
                wall = run_calls(client(sandbox_url, url), args.calls)
                added = (wall - base) * THREADS / args.calls * 1000
                print(f"  lease cap {label:<10} {wall:6.2f} s  {wall / bound:5.3f}x bound  "
                      f"{added:+6.2f} ms/call vs in-process")
            print("3. the same calls from two processes sharing the leases")
            for label, url in stores.items():
                control.control("autotask", "limits", json={"reset_counters": True})
                control.reset_concurrency()
                wall, outcome = two_processes(sandbox_url, url, args.calls)
                peak = control.concurrency().get("autotask", {}).get("products")
                refused = control.control("autotask", "limits")["refusals"]["thread_limit"]
                stats = [o["stats"] for o in outcome]
                print(f"  {label:<10} {wall:6.2f} s  {wall / bound:5.3f}x bound  high-water {peak}  "
                      f"refusals {refused}  per process (taken, reused, handed over): "
                      f"{[(s['taken'], s['reused'], s['handed_over']) for s in stats if s]}")


if __name__ == "__main__":
    main()
