"""Sandbox throughput: simple authenticated GETs per second, per emulated system.

Run: .venv/bin/python benchmarks/bench_sandbox_throughput.py [--seconds 5] [--processes 2] [--threads 4]
The sandbox runs as its own process (`channelsync sandbox serve`, as in the demo); load comes from
separate processes with keep-alive sessions, so the figure is the server's, not the load generator's.
Prints requests per second for one cheap authenticated GET of each system (target: ≥ 1,000/s).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from pathlib import Path

import requests
from sandbox_process import sandbox_process

from channelsync.sandbox import demo_credentials as creds

ROOT = Path(__file__).resolve().parents[1]


def _requests_for(base: str) -> dict[str, tuple[str, dict[str, str], tuple[str, str] | None]]:
    """(url, headers, basic auth) of one cheap authenticated GET per system."""
    at = creds.AUTOTASK
    cw = creds.CONNECTWISE
    xml = creds.TDSYNNEX_XML
    return {
        "autotask": (f"{base}/autotask/ATServicesRest/V1.0/Companies/0",
                     {"ApiIntegrationCode": at["integration_code"], "UserName": at["username"],
                      "Secret": at["secret"]}, None),
        "connectwise": (f"{base}/connectwise/v4_6_release/apis/3.0/system/info",
                        {"clientId": cw["client_id"]}, (f"{cw['company']}+{cw['public_key']}", cw["private_key"])),
        "tdsynnex": (f"{base}/tdsynnex/ftp/category_list.txt", {}, (xml["username"], xml["password"])),
        "crayon": (f"{base}/crayon/api/v1/Ping", {}, None),
        "pax8": (f"{base}/pax8/v1/companies?page=0&size=1", {"Authorization": f"Bearer {_pax8_token(base)}"}, None),
    }


def _pax8_token(base: str) -> str:
    pax8 = creds.PAX8
    response = requests.post(f"{base}/pax8/v1/token", json={
        "client_id": pax8["client_id"], "client_secret": pax8["client_secret"], "audience": pax8["audience"],
        "grant_type": "client_credentials"}, timeout=10)
    response.raise_for_status()
    return str(response.json()["access_token"])


def _load(url: str, headers: dict[str, str], auth: tuple[str, str] | None, seconds: float, threads: int,
          out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    import threading

    counts = [0] * threads
    errors = [0] * threads
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        session = requests.Session()
        while time.perf_counter() < deadline:
            response = session.get(url, headers=headers, auth=auth, timeout=10)
            if response.status_code == 200:
                counts[index] += 1
            else:
                errors[index] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put((sum(counts), sum(errors)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per load process")
    args = parser.parse_args()

    with sandbox_process(scale="small") as base:
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; sandbox in its own process; "
              f"load: {args.processes} processes × {args.threads} threads, {args.seconds:.0f} s per system")
        # Pax8's own rate limit (1,000 calls a minute) would measure the limiter, not the server.
        requests.post(f"{base}/_sandbox/pax8/limits", json={"limit": 0}, timeout=5)
        # Likewise Autotask's 3 concurrent requests per entity: 8 load threads would be refused by design.
        requests.post(f"{base}/_sandbox/autotask/limits", json={"thread_limit": 100}, timeout=5)
        for system, (url, headers, auth) in _requests_for(base).items():
            assert requests.get(url, headers=headers, auth=auth, timeout=5).status_code == 200, system
            queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
            workers = [multiprocessing.Process(target=_load, args=(url, headers, auth, args.seconds, args.threads,
                                                                   queue)) for _ in range(args.processes)]
            for worker in workers:
                worker.start()
            results = [queue.get() for _ in workers]
            for worker in workers:
                worker.join()
            done, failed = sum(r[0] for r in results), sum(r[1] for r in results)
            print(f"{system:<12} {done / args.seconds:>8.0f} GET/s   ({done} ok, {failed} not 200)")


if __name__ == "__main__":
    main()
