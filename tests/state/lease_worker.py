"""One OS process contending for concurrency leases (run by tests/state/test_leases.py).

Prints ``ready`` once imported and connected, waits for a line on stdin, then works:

- ``store``: each thread loops ``LeaseStore.acquire`` / hold ``--work`` s / ``release``;
- ``cap``: each thread loops ``with LeaseCap.slot(key): hold --work s`` (sticky leases, heartbeat);
- ``hold``: ``--limit`` threads enter the cap's slot and never leave (the heartbeat renews them);
  prints ``held`` when all are taken. The test kills the process.

Writes ``{"intervals": [[start, end], ...], "stats": {...}}`` to ``--out`` (time.monotonic(), which
is system-wide on Linux, so intervals of several processes compare).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import asdict

from channelsync.state.leases import LeaseCap, LeaseStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("key")
    parser.add_argument("--mode", choices=["store", "cap", "hold"], default="cap")
    parser.add_argument("--limit", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--work", type=float, default=0.02)
    parser.add_argument("--ttl", type=float, default=15.0)
    parser.add_argument("--out")
    args = parser.parse_args()

    store = LeaseStore(args.url, ttl=args.ttl)
    store.holders(args.key)  # connect (and create the engine) before the start signal
    cap = LeaseCap(store, args.limit, timeout=60)
    print("ready", flush=True)
    sys.stdin.readline()

    intervals: list[tuple[float, float]] = []
    lock = threading.Lock()
    errors: list[str] = []

    def hold_once() -> None:
        if args.mode == "store":
            lease = store.acquire(args.key, args.limit, timeout=60)
            started = time.monotonic()
            time.sleep(args.work)
            ended = time.monotonic()
            store.release(lease.key, lease.slot)
        else:
            with cap.slot(args.key):
                started = time.monotonic()
                time.sleep(args.work)
                ended = time.monotonic()
        with lock:
            intervals.append((started, ended))

    def work() -> None:
        try:
            for _ in range(args.calls):
                hold_once()
        except Exception as exc:  # reported to the test
            errors.append(repr(exc))

    if args.mode == "hold":
        entered = threading.Semaphore(0)

        def hold_forever() -> None:
            with cap.slot(args.key):
                entered.release()
                time.sleep(3600)

        for _ in range(args.limit):
            threading.Thread(target=hold_forever, daemon=True).start()
        for _ in range(args.limit):
            entered.acquire()
        print("held", flush=True)
        time.sleep(3600)
        return

    threads = [threading.Thread(target=work) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cap.release_all()
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"intervals": intervals, "errors": errors, "stats": asdict(cap.stats)}, handle)


if __name__ == "__main__":
    main()
