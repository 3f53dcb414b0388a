"""Whose API calls are these: a tally of the calls sent on behalf of one task (one run stage, one load task).

A transport's own counter counts every call its client sends, whoever asked. That is the task's count
only while one task uses the client: when several tasks of a process share clients (a run's mapped load
tasks on threads of one process, as the benchmarks and a test runner do), each task's count before / after
would include the others'. So the calls are also counted on the tally current in the *context* of the
code that sends them (a ``ContextVar``): a task makes its tally current, and the calls it sends — on its
own thread or on the worker threads it starts through :class:`ContextThreadPool` — are its own.

Worker threads do not inherit a context by themselves (``ThreadPoolExecutor`` runs every job in the
worker's context), hence :class:`ContextThreadPool` and :func:`in_current_context` for the engine's own
threads that send calls.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_CURRENT: contextvars.ContextVar[CallTally | None] = contextvars.ContextVar("channelsync_call_tally", default=None)


class CallTally:
    """Calls sent while this tally is current, per transport (any object: the tally only keys by it)."""

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self._lock = threading.Lock()

    def add(self, transport: object) -> None:
        with self._lock:
            self._counts[id(transport)] = self._counts.get(id(transport), 0) + 1

    def count(self, transport: object) -> int:
        with self._lock:
            return self._counts.get(id(transport), 0)

    @contextmanager
    def current(self) -> Iterator[CallTally]:
        """Count the calls sent in this context (and the contexts copied from it) on this tally."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)


def count_call(transport: object) -> None:
    """Called by the transport for every call it sends (attempts included)."""
    tally = _CURRENT.get()
    if tally is not None:
        tally.add(transport)


def in_current_context(function: Callable[..., T]) -> Callable[..., T]:
    """``function`` bound to a copy of the caller's context (for a ``threading.Thread`` target)."""
    context = contextvars.copy_context()

    def run(*args: Any, **kwargs: Any) -> T:
        return context.run(function, *args, **kwargs)

    return run


class ContextThreadPool(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose jobs run in a copy of the submitter's context, so the calls they send
    are counted on the submitting task's tally. One copy per job: a context cannot be entered by two
    threads at once."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
