"""Concurrency leases in the state store (SQLite, and PostgreSQL when configured): never more than
``limit`` holders across OS processes, expiry frees a killed holder's slots, sticky leases cost no
transaction per call, and a waiting process gets its turn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from channelsync.errors import RetriableApiError
from channelsync.state import db
from channelsync.state.leases import (
    STATE_LEASE_TIMEOUT,
    LeaseCap,
    LeaseStore,
    LeaseUnavailable,
)

WORKER = Path(__file__).with_name("lease_worker.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def url(state_url: str) -> str:
    db.upgrade(state_url)
    return state_url


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    current = peak = 0
    for _, step in events:  # at equal times an end (-1) sorts before a start (+1)
        current += step
        peak = max(peak, current)
    return peak


Workers = list[tuple[subprocess.Popen[str], Path]]


def start_workers(url: str, key: str, tmp_path: Path, count: int, *args: str) -> Workers:
    workers = []
    for index in range(count):
        out = tmp_path / f"worker{index}.json"
        process = subprocess.Popen(
            [sys.executable, str(WORKER), url, key, "--out", str(out), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )
        workers.append((process, out))
    for process, _ in workers:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    for process, _ in workers:  # all start together
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    return workers


def results(workers: Workers) -> list[dict[str, Any]]:
    out = []
    for process, path in workers:
        assert process.wait(timeout=120) == 0
        out.append(json.loads(path.read_text()))
    return out


# ---- one process ----------------------------------------------------------------------------------
def test_slots_up_to_the_limit_then_refused_and_a_waiter_is_marked(url: str) -> None:
    first, second = LeaseStore(url), LeaseStore(url)
    assert [first.try_acquire("k", 3) for _ in range(3)] == [0, 1, 2]
    assert second.try_acquire("k", 3, mark_waiting=True) is None
    assert first.contended(["k"]) == {"k"} and second.contended(["k"]) == set()  # one's own waiter row is not
    assert first.holders("k") == {0: first.holder, 1: first.holder, 2: first.holder}
    assert first.release("k", 1)
    assert second.try_acquire("k", 3, clear_waiting=True) == 1
    assert first.contended(["k"]) == set()
    assert first.try_acquire("other", 3) == 0  # keys are independent
    assert first.release_all() == 3 and second.release_all() == 1
    assert first.holders("k") == {}


def test_an_expired_slot_is_taken_over_and_its_old_holder_loses_it(url: str) -> None:
    stalled, other = LeaseStore(url, ttl=0.3), LeaseStore(url)
    assert stalled.try_acquire("k", 1) == 0
    assert other.try_acquire("k", 1) is None
    time.sleep(0.4)
    assert other.try_acquire("k", 1) == 0
    assert other.holders("k") == {0: other.holder}
    assert stalled.renew() == set()  # renewing does not take it back
    assert not stalled.release("k", 0) and other.holders("k") == {0: other.holder}


def test_acquire_times_out_with_a_retriable_error(url: str) -> None:
    holder, waiter = LeaseStore(url), LeaseStore(url)
    holder.try_acquire("k", 1)
    started = time.monotonic()
    with pytest.raises(LeaseUnavailable) as caught:
        waiter.acquire("k", 1, timeout=0.3)
    assert 0.25 < time.monotonic() - started < 2
    assert isinstance(caught.value, RetriableApiError) and caught.value.code == STATE_LEASE_TIMEOUT
    assert "all 1 are held" in str(caught.value)


def test_sticky_leases_serve_consecutive_calls_without_a_transaction(url: str) -> None:
    cap = LeaseCap(LeaseStore(url), 3)
    for _ in range(200):
        with cap.slot("autotask:1|code|products"):
            pass
    assert cap.stats.taken == 1 and cap.stats.reused == 199
    cap.release_all()
    assert cap.store.holders("autotask:1|code|products") == {}


def test_the_heartbeat_renews_held_leases(url: str) -> None:
    cap = LeaseCap(LeaseStore(url, ttl=1.0), 1, tick_s=0.05)
    other = LeaseStore(url)
    with cap.slot("k"):
        time.sleep(2.2)  # well past the TTL
        assert other.try_acquire("k", 1) is None
    assert cap.stats.renewals >= 2
    cap.close()
    assert other.try_acquire("k", 1) == 0


def test_a_waiting_holder_gets_a_turn_and_the_limit_holds(url: str) -> None:
    """Two caps (two holders, like two processes): the second starts while the first holds every slot."""
    first = LeaseCap(LeaseStore(url), 3, tick_s=0.05, turn_s=0.3)
    second = LeaseCap(LeaseStore(url), 3, tick_s=0.05, turn_s=0.3)
    in_flight = peak = 0
    lock = threading.Lock()
    done = {id(first): 0, id(second): 0}
    stop = time.monotonic() + 2.0

    def work(cap: LeaseCap, delay: float) -> None:
        nonlocal in_flight, peak
        time.sleep(delay)
        while time.monotonic() < stop:
            with cap.slot("k"):
                with lock:
                    in_flight += 1
                    peak = max(peak, in_flight)
                time.sleep(0.01)
                with lock:
                    in_flight -= 1
                    done[id(cap)] += 1

    threads = [threading.Thread(target=work, args=(cap, delay)) for cap, delay in
               [(first, 0.0)] * 3 + [(second, 0.4)] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak <= 3
    assert second.stats.taken >= 1 and first.stats.handed_over >= 1
    assert done[id(second)] > 0.2 * done[id(first)], done  # the late one got real turns
    first.close()
    second.close()


def test_release_all_while_a_call_is_in_flight_releases_it_when_it_ends(url: str) -> None:
    cap = LeaseCap(LeaseStore(url), 3)
    other = LeaseStore(url)
    with cap.slot("k"):
        with cap.slot("k"):
            pass  # the second slot is idle once this ends
        cap.release_all()
        assert len(other.holders("k")) == 1  # the busy one is still held
    assert other.holders("k") == {}


# ---- several OS processes -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["store", "cap"])
def test_processes_never_hold_more_than_the_limit(url: str, tmp_path: Path, mode: str) -> None:
    workers = start_workers(url, "autotask:1|code|products", tmp_path, 3, "--mode", mode, "--threads", "3",
                            "--calls", "15" if mode == "store" else "40", "--work", "0.01")
    outcome = results(workers)
    assert all(not r["errors"] for r in outcome), [r["errors"] for r in outcome]
    intervals = [tuple(i) for r in outcome for i in r["intervals"]]
    assert max_overlap(intervals) == 3  # reached, never passed
    assert all(r["intervals"] for r in outcome)  # every process got slots


def test_a_killed_holder_frees_its_slots_after_the_ttl(url: str, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, str(WORKER), url, "k", "--mode", "hold", "--limit", "2", "--ttl", "1.0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert process.stdout is not None and process.stdin is not None
    try:
        assert process.stdout.readline().strip() == "ready"
        process.stdin.write("go\n")
        process.stdin.flush()
        assert process.stdout.readline().strip() == "held"
        waiter = LeaseStore(url)
        with pytest.raises(LeaseUnavailable):  # alive: its heartbeat renews past the TTL
            waiter.acquire("k", 2, timeout=1.6)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        killed = time.monotonic()
        lease = waiter.acquire("k", 2, timeout=5)
        assert time.monotonic() - killed < 3.0  # about the TTL (1 s), not the default 15 s
        assert waiter.acquire("k", 2, timeout=1).slot != lease.slot  # both slots came back
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
