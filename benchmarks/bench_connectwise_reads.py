"""Benchmark (not a test): reading 20,000 ConnectWise catalog items through ConnectWiseClient.

    .venv/bin/python benchmarks/bench_connectwise_reads.py [--items 20000] [--latency-ms 50]

- starts an in-process sandbox at medium scale hosting the ConnectWise emulator, and tops the
  catalog up to exactly ``--items`` items (the control endpoint ``catalog/bulk``);
- reads them all with ``iter_catalog_items`` (forward-only paging, pageSize 1000) and prints the
  number of API calls from the sandbox request log: ⌈items / 1000⌉. No ``/count`` call is made; the
  last page is recognised without an extra call — a short page ends the loop, and a full last page
  comes with an empty ``Link`` header (no next ``pageId``);
- repeats with ``--latency-ms`` injected per request and compares wall time with calls × latency;
- measures simple-GET throughput (``GET procurement/catalog/{id}``), one and four client threads.

Everything runs twice: with the shared sandbox server as it is, and with TCP_NODELAY set on its
accepted sockets (patched here, in the benchmark only). The stdlib handler writes the headers and
the body in two ``send`` calls; with Nagle on, the body waits for the client's delayed ACK (~40 ms
on Linux), which caps any keep-alive client at ~25 requests/s per connection. The fix belongs in
``sandbox/server.py`` (``setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)`` in the handler's ``setup``).
"""

from __future__ import annotations

import argparse
import math
import socket
import threading
import time

import requests

from channelsync.clients.connectwise import ConnectWiseClient
from channelsync.sandbox import demo_credentials, registry
from channelsync.sandbox import server as sandbox_server
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer

CREDS = demo_credentials.CONNECTWISE


def start_server() -> SandboxServer:
    saved = registry.EMULATORS
    registry.EMULATORS = {"connectwise": saved["connectwise"]}  # the other emulators are not measured here
    try:
        return SandboxServer(host="127.0.0.1", port=0, scale="medium", seed=42).start()
    finally:
        registry.EMULATORS = saved


def new_client(server: SandboxServer) -> ConnectWiseClient:
    return ConnectWiseClient(site_url=f"{server.url}/connectwise", company=CREDS["company"],
                             public_key=CREDS["public_key"], private_key=CREDS["private_key"],
                             client_id=CREDS["client_id"])


def read_all(server: SandboxServer, control: SandboxControl) -> tuple[int, int, float]:
    client = new_client(server)
    client.codebase()  # discovery is one call per client lifetime; keep it out of the read figures
    control.clear_requests()
    started = time.perf_counter()
    count = sum(1 for _ in client.iter_catalog_items())
    elapsed = time.perf_counter() - started
    calls = [r for r in control.requests("connectwise") if "/apis/3.0/" in r["path"]]
    return count, len(calls), elapsed


def throughput(server: SandboxServer, threads: int, seconds: float = 2.0) -> float:
    url = f"{server.url}/connectwise/v4_6_release/apis/3.0/procurement/catalog/1"
    headers = {"clientId": CREDS["client_id"]}
    auth = (f"{CREDS['company']}+{CREDS['public_key']}", CREDS["private_key"])
    done = [0] * threads
    deadline = time.perf_counter() + seconds

    def worker(slot: int) -> None:
        session = requests.Session()
        while time.perf_counter() < deadline:
            response = session.get(url, headers=headers, auth=auth, timeout=5)
            assert response.status_code == 200
            done[slot] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def set_nodelay() -> None:
    """Patch the sandbox's request handler so answers are not held back by Nagle's algorithm."""
    original = sandbox_server._Handler.setup

    def setup(handler: sandbox_server._Handler) -> None:
        original(handler)
        handler.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    sandbox_server._Handler.setup = setup  # type: ignore[method-assign, assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    print("== shared sandbox server as it is ==")
    run(args)
    set_nodelay()
    print("== same, with TCP_NODELAY on the server's sockets ==")
    run(args)


def run(args: argparse.Namespace) -> None:
    server = start_server()
    control = SandboxControl(server.url)
    try:
        seeded = len(control.records("connectwise", "catalogItems"))
        total = int(control.control("connectwise", "catalog/bulk", json={"count": args.items})["count"])
        print(f"catalog items: {seeded} seeded at medium scale, topped up to {total}")

        count, calls, elapsed = read_all(server, control)
        expected = math.ceil(total / 1000)
        print(f"read {count} items in {calls} calls (expected ceil({total}/1000) = {expected}), "
              f"{elapsed:.2f} s without latency")

        control.set_faults({"kind": "latency", "system": "connectwise", "latency_ms": args.latency_ms})
        count, calls, elapsed = read_all(server, control)
        floor = calls * args.latency_ms / 1000
        print(f"with {args.latency_ms:.0f} ms latency: {count} items, {calls} calls, {elapsed:.2f} s wall; "
              f"calls x latency = {floor:.2f} s; ratio {elapsed / floor:.2f} (target <= 1.25)")
        control.clear_faults()

        for threads in (1, 4):
            rate = throughput(server, threads)
            print(f"simple GET throughput, {threads} client thread(s): {rate:,.0f} requests/s (target >= 1,000)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
