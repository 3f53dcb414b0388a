"""Each task counts only its own API calls, also when tasks share clients (clients/call_tally.py)."""

from __future__ import annotations

import threading

from channelsync.clients.call_tally import CallTally, ContextThreadPool, count_call, in_current_context


class _Transport:
    """Stands for an HttpTransport: the tally only keys by the object."""


def _send(transport: _Transport, times: int) -> None:
    for _ in range(times):
        count_call(transport)


def test_tasks_sharing_a_transport_count_their_own_calls() -> None:
    shared = _Transport()
    tallies = [CallTally() for _ in range(3)]
    ready = threading.Barrier(3)

    def task(tally: CallTally, calls: int) -> None:
        with tally.current():
            ready.wait()  # all three send at the same time, on one transport
            _send(shared, calls)

    threads = [threading.Thread(target=task, args=(tally, 10 * (n + 1))) for n, tally in enumerate(tallies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [tally.count(shared) for tally in tallies] == [10, 20, 30]


def test_worker_threads_of_a_task_count_on_its_tally() -> None:
    transport, tally = _Transport(), CallTally()
    with tally.current():
        with ContextThreadPool(max_workers=3) as pool:
            list(pool.map(lambda _n: _send(transport, 5), range(4)))
        background = threading.Thread(target=in_current_context(_send), args=(transport, 2))
        background.start()
        background.join()
    _send(transport, 7)  # outside the task: nobody's
    assert tally.count(transport) == 22
