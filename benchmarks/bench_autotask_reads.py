"""Benchmark: reading 20,000 Autotask products through the client, and the emulator's GET throughput.

Run: ``.venv/bin/python benchmarks/bench_autotask_reads.py [--products 20000] [--latency-ms 50]``

1. Starts the sandbox as its own process (medium scale) and tops the products up to
   ``--products`` through the control API (``POST /_sandbox/autotask/products/bulk``).
2. Reads them all with ``AutotaskClient.iter_products()`` and prints the number of query calls
   (the sandbox request log is the judge: ⌈20000/500⌉ = 40 expected).
3. Repeats with ``--latency-ms`` injected on every query call and compares the wall time with
   calls × latency.
4. Measures simple ``GET Products/{id}`` throughput from several load processes with several
   threads each, one keep-alive connection per thread (the thread limit is raised for this part: it
   measures the server, not Autotask's limit).

Not a test: it prints figures and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import threading
import time
from typing import Any

import requests
from sandbox_process import sandbox_process

from channelsync.clients.autotask import AutotaskClient
from channelsync.clients.http import RetryPolicy
from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl

CREDS = demo_credentials.AUTOTASK


CATALOG_FIELDS = ["id", "name", "manufacturerName", "manufacturerProductName", "sku", "vendorProductNumber",
                  "externalProductID", "unitCost", "unitPrice", "msrp", "isActive", "productCategory"]


def read_all(
    base: str, control: SandboxControl, include_fields: list[str] | None = None
) -> tuple[int, int, int, float]:
    client = AutotaskClient(
        base_url=f"{base}/autotask", username=CREDS["username"], secret=CREDS["secret"],
        integration_code=CREDS["integration_code"], policy=RetryPolicy(backoff_base=0.05),
        budget_check_every=1000,
    )
    control.clear_requests()
    started = time.perf_counter()
    rows = sum(1 for _ in client.iter_products(include_fields=include_fields))
    elapsed = time.perf_counter() - started
    log = control.requests("autotask")
    queries = sum(1 for e in log if "/products/query" in e["path"].lower())
    readings = sum(1 for e in log if "thresholdinformation" in e["path"].lower())
    return rows, queries, readings, elapsed


def throughput(base: str, *, processes: int, threads: int, seconds: float, ids: int) -> float:
    """Load from separate processes, so the load generator does not share the server's GIL."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        results = pool.starmap(_load, [(base, threads, seconds, ids)] * processes)
    ok = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    if failed:
        print(f"  (non-200 answers: {failed})")
    return ok / max(r[2] for r in results)


def _load(base_url: str, threads: int, seconds: float, ids: int) -> tuple[int, int, float]:
    url = f"{base_url}/autotask/ATServicesRest/V1.0/Products/"
    headers = {"ApiIntegrationCode": CREDS["integration_code"], "UserName": CREDS["username"],
               "Secret": CREDS["secret"]}
    counts = [0] * threads
    failures = [0] * threads
    stop = time.perf_counter() + seconds

    def worker(index: int) -> None:
        session = requests.Session()
        n = 0
        while time.perf_counter() < stop:
            response = session.get(f"{url}{n % ids + 1}", headers=headers, timeout=10)
            if response.status_code == 200:
                counts[index] += 1
            else:
                failures[index] += 1
            n += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(counts), sum(failures), time.perf_counter() - started


def product_count(base: str) -> int:
    tables: dict[str, Any] = requests.get(f"{base}/_sandbox/records/autotask", timeout=30).json()["tables"]
    return int(tables["Products"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per load process")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    with sandbox_process(scale=args.scale) as base:
        control = SandboxControl(base)
        # Far above the default 10,000: the benchmark's own calls must not trigger the latency tiers.
        control.control("autotask", "limits", json={"hourly_threshold": 10_000_000})
        existing = product_count(base)
        if existing < args.products:
            control.control("autotask", "products/bulk", json={"count": args.products - existing})
        total = product_count(base)
        expected = math.ceil(total / 500)
        print(f"products in the sandbox: {total} (scale {args.scale}); expected query calls: {expected}")

        rows, queries, readings, elapsed = read_all(base, control)
        print(f"no latency : {rows} rows, {queries} query calls, {readings} ThresholdInformation reading(s), "
              f"{elapsed:.2f} s")

        control.set_faults({"system": "autotask", "path": "Products/query", "kind": "latency",
                            "latency_ms": args.latency_ms})
        rows, queries, readings, elapsed = read_all(base, control)
        floor = queries * args.latency_ms / 1000
        print(f"{args.latency_ms:.0f} ms/call: {rows} rows, {queries} query calls, {elapsed:.2f} s wall vs "
              f"calls x latency = {floor:.2f} s -> ratio {elapsed / floor:.2f} (target <= 1.25)")
        rows, queries, _, elapsed = read_all(base, control, CATALOG_FIELDS)
        print(f"{args.latency_ms:.0f} ms/call, IncludeFields ({len(CATALOG_FIELDS)} catalog fields): {rows} rows, "
              f"{queries} query calls, {elapsed:.2f} s -> ratio {elapsed / floor:.2f}")
        control.clear_faults()

        control.control("autotask", "limits", json={"thread_limit": 1000, "reset_counters": True})
        rate = throughput(base, processes=args.processes, threads=args.threads, seconds=args.seconds,
                          ids=min(total, 5000))
        print(f"simple GET Products/{{id}}: {rate:,.0f} requests/s from {args.processes} processes x "
              f"{args.threads} threads (target >= 1,000/s)")


if __name__ == "__main__":
    main()
