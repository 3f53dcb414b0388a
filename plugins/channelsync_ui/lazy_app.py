"""The operations pages' app, imported on its first request instead of when Airflow loads the plugin.

Airflow loads every plugin in every process that touches its plugins — the scheduler, the DAG processor
and each task's process (the lineage hook of an object-storage write loads them) — while only the API
server serves the pages. Importing the FastAPI app (its routes, templates and page modules) cost a task
about 0.7 s for nothing. Airflow mounts a plugin's ``app`` with Starlette's ``Mount``, which takes any ASGI
callable, so this stand-in is mounted instead and forwards every request to the real app, imported once.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread

from channelsync.imports import load_object

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class LazyApp:
    """The ASGI app at import path ``module:attribute`` (``channelsync.imports.load_object``), imported at the
    first request (in a worker thread, so the API server's event loop goes on answering meanwhile)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._app: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None
        self._lock = threading.Lock()

    def load(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        with self._lock:
            if self._app is None:
                self._app = load_object(self.target)
            return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app
        if app is None:
            app = await anyio.to_thread.run_sync(self.load)
        await app(scope, receive, send)
