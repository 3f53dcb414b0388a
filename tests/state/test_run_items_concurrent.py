"""Mapped load tasks end at the same time: each records its items and adds its API calls to the run in one
transaction. On PostgreSQL the items' foreign key takes a KEY SHARE lock on the run's row; the calls' lock
on that row must not conflict with it, or two tasks wait for each other until PostgreSQL breaks the deadlock
(one of them then fails)."""

from __future__ import annotations

import threading

from channelsync.state import repository
from channelsync.state.db import upgrade

TASKS, ROUNDS = 4, 10


def test_tasks_recording_items_and_calls_at_once_neither_deadlock_nor_lose_a_call(state_url: str) -> None:
    upgrade(state_url)
    run_id = repository.start_run(state_url, integration="i", template="submit_orders", run_key="r", preview=False)
    barrier = threading.Barrier(TASKS)
    errors: list[BaseException] = []

    def task(number: int) -> None:
        for round_ in range(ROUNDS):
            barrier.wait()  # every task commits its items at the same moment
            try:
                repository.replace_items(
                    state_url, run_id, "load",
                    [{"entity_type": "order", "source_key": f"PO-{number}-{round_}", "outcome": "updated"}],
                    partition=f"PO-{number}-{round_}", api_calls={"autotask": 1, "tdsynnex_xml": 2})
            except BaseException as exc:  # a deadlock victim: the test's failure, reported below
                errors.append(exc)

    threads = [threading.Thread(target=task, args=(n,)) for n in range(TASKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(repository.list_items(state_url, run_id)) == TASKS * ROUNDS
    counts = repository.finish_run(state_url, run_id, status="success", counts={})
    assert counts == {"autotask": TASKS * ROUNDS, "tdsynnex_xml": 2 * TASKS * ROUNDS}
