"""An Airflow listener: when a channelsync DAG run ends, its note says what channelsync recorded.

Airflow's grid shows a run whose items ended in conflicts as plain green Success, and a preview like
a real run; the note ("Warning — 1 conflict, 221 created", "Preview — nothing written") puts the
sync status where the data engineer already looks, with a link to the run's status page.

Why a listener and not the report task: a task talks to Airflow only through the Task Execution API,
which cannot set a note, and a task should not hold a user's credentials for the REST API. The
scheduler (or ``dag.test()``) calls this as it records the run's final state, in its own session, so
the note is written just after that state (see :func:`annotate`). A note a person wrote is left alone.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from functools import cache
from typing import Any

from airflow.listeners import hookimpl

from channelsync.ui.links import status_page_url

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_PENDING: list[threading.Thread] = []  # notes being written (``wait`` joins them)


@cache
def _state_url() -> str:
    from channelsync import settings

    return settings.state_url()


def note_for(dag_id: str, run_id: str) -> str | None:
    """The note of a DAG run that recorded a sync run; None for any other DAG run."""
    if "__" not in dag_id:
        return None
    from channelsync.state.db import session_scope
    from channelsync.ui import notes, queries

    with session_scope(_state_url()) as session:
        run = queries.run_by_key(session, f"{dag_id}/{run_id}")
        if run is None:
            return None
        text = notes.headline(status=run.status, counts=dict(run.counts or {}), preview=bool(run.preview),
                              error_code=run.error_code, error_message=run.error_message)
        return notes.note(text, run_id=run.id, status_url=status_page_url(run.id))


def annotate(dag_run: Any) -> None:
    """Set the note of ``dag_run`` (unless a person wrote one), from a thread of its own.

    The listener runs inside the scheduler's loop, on the scheduler's session. Anything that opens an
    Airflow session in this thread (reading a connection, ``create_session``) closes that thread-local
    session when it ends and detaches the scheduler's objects: the loop then dies on its next attribute
    read. So only the run's identity is read here — from the object's loaded state, never refreshing
    it — and the note is written by another thread, with its own session, once the scheduler has
    committed. Nothing here may raise.
    """
    try:
        dag_id, run_id, pk = _identity(dag_run)
        if (dag_id is None and pk is None) or (dag_id is not None and "__" not in dag_id):
            return
        thread = threading.Thread(target=_annotate, args=(dag_id, run_id, pk), name="channelsync-run-note",
                                  daemon=True)
        thread.start()
        with _LOCK:
            _PENDING.append(thread)
    except Exception:  # a listener must never break the scheduler's loop (and must not touch the run here)
        log.warning("channelsync: could not set a DAG run's note", exc_info=True)


def wait(timeout: float = 30.0) -> None:
    """Wait for the notes being written (tests, and ``dag.test()`` callers that read them at once)."""
    with _LOCK:
        pending = list(_PENDING)
        _PENDING.clear()
    for thread in pending:
        thread.join(timeout)


# A process that ends right after its run (``dag.test()``, ``channelsync sync``) would otherwise take the
# note down with it: Airflow's own exit handler disposes of the ORM under the writing thread (registered
# before this module, so run after this wait).
atexit.register(wait, 10.0)


def _annotate(dag_id: str | None, run_id: str | None, pk: Any) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError

    for attempt in range(10):
        try:
            with create_session() as session:
                query = select(DagRun).where(DagRun.id == pk) if pk is not None else select(DagRun).where(
                    DagRun.dag_id == dag_id, DagRun.run_id == run_id)
                found = session.scalars(query).one_or_none()
                if found is None:
                    return
                text = note_for(found.dag_id, found.run_id)
                if text is not None:
                    _set_note(found, text)
            return
        except OperationalError:  # the scheduler still holds the database (SQLite): after its commit
            time.sleep(0.5 * (attempt + 1))
        except Exception:
            log.warning("channelsync: could not set the note of %s %s", dag_id, run_id, exc_info=True)
            return
    log.warning("channelsync: gave up setting the note of %s %s (database busy)", dag_id, run_id)


def _identity(dag_run: Any) -> tuple[str | None, str | None, Any]:
    """(dag_id, run_id, primary key) from the object's loaded state only: no attribute access that could
    trigger a refresh of a detached, expired run."""
    from sqlalchemy import inspect

    try:
        state = inspect(dag_run)
    except Exception:  # not an ORM object (a test double): plain attributes
        return getattr(dag_run, "dag_id", None), getattr(dag_run, "run_id", None), None
    loaded = state.dict
    identity = state.identity
    return loaded.get("dag_id"), loaded.get("run_id"), identity[0] if identity else None


def _set_note(dag_run: Any, text: str) -> None:
    from channelsync.ui import notes

    if notes.is_ours(dag_run.note):
        dag_run.note = text


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    annotate(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    annotate(dag_run)
