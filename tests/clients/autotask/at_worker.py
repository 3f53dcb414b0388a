"""One Airflow-task-like process calling Autotask with 6 threads (run by test_at_client_cross_process.py).

``at_worker.py SANDBOX_URL [STATE_URL]``: builds the client the way a task does (with the state
store's leases when STATE_URL is given, the in-process cap otherwise), discovers the zone, prints
``ready``, waits for a line on stdin, then runs the calls and prints one JSON line: errors, calls.
"""

from __future__ import annotations

import json
import sys
import threading

from channelsync.clients.autotask import AutotaskClient
from channelsync.clients.http import RetryPolicy
from channelsync.sandbox import demo_credentials

THREADS = 6
ROUNDS = 12


def main() -> None:
    sandbox_url = sys.argv[1]
    state_url = sys.argv[2] if len(sys.argv) > 2 else None
    creds = demo_credentials.AUTOTASK
    client = AutotaskClient(
        base_url=f"{sandbox_url}/autotask", username=creds["username"], secret=creds["secret"],
        integration_code=creds["integration_code"], state_url=state_url,
        # Few, quick retries: a thread-limit refusal must show up, not be waited out.
        policy=RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_cap=0.02),
    )
    tenant = client.tenant_id  # zone discovery (not thread-limited)
    print("ready", flush=True)
    sys.stdin.readline()
    errors: list[str] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        for round_ in range(ROUNDS):
            try:
                if round_ % 4 == 3:
                    client.count("Companies")
                else:
                    client.get("Products", 1 + (index + round_) % 20)
            except Exception as exc:  # reported to the test
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.release_slots()
    print(json.dumps({"tenant": tenant, "errors": errors, "calls": client.transport.counter.calls,
                      "cap": type(client.cap).__name__}), flush=True)


if __name__ == "__main__":
    main()
