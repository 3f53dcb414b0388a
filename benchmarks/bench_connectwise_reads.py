"""Benchmark (not a test): reading 20,000 ConnectWise catalog items through ConnectWiseClient.

    .venv/bin/python benchmarks/bench_connectwise_reads.py [--items 20000] [--latency-ms 50]

- starts the sandbox as its own process at medium scale and tops the ConnectWise catalog up to
  exactly ``--items`` items (the control endpoint ``catalog/bulk``);
- reads them all with ``iter_catalog_items`` (forward-only paging, pageSize 1000, the next page
  requested as soon as the Link header names it) and prints the number of API calls from the sandbox
  request log: ⌈items / 1000⌉. No ``/count`` call is made; a short page ends the loop, and a full last
  page comes with an empty ``Link`` header;
- repeats with ``--latency-ms`` injected per request and compares wall time with calls × latency.
Simple-GET throughput of every emulator: benchmarks/bench_sandbox_throughput.py.
"""

from __future__ import annotations

import argparse
import math
import time

from sandbox_process import sandbox_process

from channelsync.clients.connectwise import ConnectWiseClient
from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl

CREDS = demo_credentials.CONNECTWISE


def new_client(base: str) -> ConnectWiseClient:
    return ConnectWiseClient(site_url=f"{base}/connectwise", company=CREDS["company"],
                             public_key=CREDS["public_key"], private_key=CREDS["private_key"],
                             client_id=CREDS["client_id"])


def read_all(base: str, control: SandboxControl) -> tuple[int, int, float]:
    client = new_client(base)
    client.codebase()  # discovery is one call per client lifetime; keep it out of the read figures
    control.clear_requests()
    started = time.perf_counter()
    count = sum(1 for _ in client.iter_catalog_items())
    elapsed = time.perf_counter() - started
    calls = [r for r in control.requests("connectwise") if "/apis/3.0/" in r["path"]]
    return count, len(calls), elapsed


def run(args: argparse.Namespace) -> None:
    with sandbox_process(scale="medium") as base:
        control = SandboxControl(base)
        seeded = len(control.records("connectwise", "catalogItems"))
        total = int(control.control("connectwise", "catalog/bulk", json={"count": args.items})["count"])
        print(f"catalog items: {seeded} seeded at medium scale, topped up to {total}")

        count, calls, elapsed = read_all(base, control)
        expected = math.ceil(total / 1000)
        print(f"read {count} items in {calls} calls (expected ceil({total}/1000) = {expected}), "
              f"{elapsed:.2f} s without latency")

        control.set_faults({"kind": "latency", "system": "connectwise", "latency_ms": args.latency_ms})
        count, calls, elapsed = read_all(base, control)
        floor = calls * args.latency_ms / 1000
        print(f"with {args.latency_ms:.0f} ms latency: {count} items, {calls} calls, {elapsed:.2f} s wall; "
              f"calls x latency = {floor:.2f} s; ratio {elapsed / floor:.2f} (target <= 1.25)")
        control.clear_faults()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
