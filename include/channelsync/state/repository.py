"""State-store reads and writes the run shape needs: runs, items, ledger, cross-reference."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from channelsync.state.db import session_scope
from channelsync.state.models import CrossReference, SyncItem, SyncRun
from channelsync.state.upsert import upsert

_ITEMS: Table = SyncItem.__table__  # type: ignore[assignment]
_RUNS: Table = SyncRun.__table__  # type: ignore[assignment]
_DELETE_STAGE_ITEMS = delete(_ITEMS).where(_ITEMS.c.run_id == bindparam("run"), _ITEMS.c.stage == bindparam("stage"),
                                           _ITEMS.c.partition.is_(None))
_DELETE_PARTITION_ITEMS = delete(_ITEMS).where(_ITEMS.c.run_id == bindparam("run"),
                                               _ITEMS.c.stage == bindparam("stage"),
                                               _ITEMS.c.partition == bindparam("partition"))
# FOR NO KEY UPDATE, not FOR UPDATE: the transaction adding a task's calls has just inserted its items, whose
# foreign key holds a KEY SHARE lock on this run row, and so has every other task's. FOR UPDATE conflicts with
# KEY SHARE, so two tasks at once each waited for the other: a deadlock PostgreSQL broke after its 1 s
# deadlock_timeout (a third of 1,000 PO tasks paid it). NO KEY UPDATE still serialises the additions.
_RUN_CALLS_FOR_UPDATE = select(_RUNS.c.api_calls).where(_RUNS.c.id == bindparam("run")).with_for_update(
    key_share=True)
_SET_RUN_CALLS = update(_RUNS).where(_RUNS.c.id == bindparam("run")).values(api_calls=bindparam("calls"))


def start_run(url: str, *, integration: str, template: str, run_key: str, preview: bool) -> int:
    """The run's row, created once per DAG run: a retried or cleared task reuses it."""
    with session_scope(url) as session:
        upsert(
            session, SyncRun,
            [{"integration": integration, "template": template, "run_key": run_key, "preview": preview,
              "status": "running", "started_at": datetime.now(UTC), "counts": {}, "api_calls": {}}],
            keys=["integration", "template", "run_key"], update=["status"],
        )
        run_id = session.scalar(
            select(SyncRun.id).where(
                SyncRun.integration == integration, SyncRun.template == template, SyncRun.run_key == run_key
            )
        )
        assert run_id is not None
        return run_id


def finish_run(
    url: str, run_id: int, *, status: str, counts: dict[str, int],
    plan_path: str | None = None, clear_error: bool = True,
) -> dict[str, int]:
    """Close the run; a failed run keeps the error its failing stage recorded."""
    with session_scope(url) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        now = datetime.now(UTC)
        started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
        run.status, run.counts = status, counts
        if clear_error:
            run.error_code, run.error_message = None, None
        run.finished_at, run.duration_s = now, (now - started).total_seconds()
        if plan_path:
            run.plan_path = plan_path
        return dict(run.api_calls or {})


def record_error(url: str, run_id: int, *, error_code: str, error_message: str) -> None:
    with session_scope(url) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        run.error_code, run.error_message = error_code[:80], error_message[:4000]


def replace_items(url: str, run_id: int, stage: str, rows: Iterable[dict[str, Any]], *,
                  partition: str | None = None, api_calls: dict[str, int] | None = None) -> None:
    """Record items of one stage (of one partition, for a mapped load); a retried stage replaces its own
    earlier rows, not the others'. ``api_calls``: the stage's API calls, added to the run in the same
    transaction (:func:`add_api_calls`; a mapped load task then writes the state store once at its end).

    Every outcome must be declared (runs/outcomes.py): an undeclared one is a programming error."""
    from channelsync.runs import outcomes

    payload = [{"run_id": run_id, "stage": stage, "partition": partition, **row} for row in rows]
    for name in {row["outcome"] for row in payload}:
        outcomes.get(name)
    # Core statements on the table, compiled once and cached (the ORM-enabled delete / bulk insert / get were
    # compiled again for every mapped task: most of a one-PO load task's own CPU time, see ``state/ledger``).
    with session_scope(url) as session:
        if partition is None:
            session.execute(_DELETE_STAGE_ITEMS, {"run": run_id, "stage": stage})
        else:
            session.execute(_DELETE_PARTITION_ITEMS, {"run": run_id, "stage": stage, "partition": partition})
        for group in _by_columns(payload):
            session.execute(insert(_ITEMS), group)
        if api_calls:
            _add_api_calls(session, run_id, api_calls)


def _by_columns(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped by the columns they set: one executemany per group, each row keeping the table's
    defaults for the columns it leaves out (as the ORM's bulk insert groups them)."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    return list(groups.values())


def item_counts(url: str, run_id: int) -> dict[str, int]:
    from sqlalchemy import func

    with session_scope(url) as session:
        rows = session.execute(
            select(SyncItem.outcome, func.count()).where(SyncItem.run_id == run_id).group_by(SyncItem.outcome)
        ).all()
    return {outcome: count for outcome, count in rows}


def list_items(url: str, run_id: int) -> list[dict[str, Any]]:
    """Every item of a run as plain dicts (stage, partition, source_key, outcome, error_code, error_message …)."""
    with session_scope(url) as session:
        rows = session.scalars(select(SyncItem).where(SyncItem.run_id == run_id).order_by(SyncItem.id)).all()
        return [{column.name: getattr(row, column.name) for column in SyncItem.__table__.columns} for row in rows]


def item_keys(url: str, run_id: int, *, outcome: str) -> list[str]:
    with session_scope(url) as session:
        return list(session.scalars(
            select(SyncItem.source_key).where(SyncItem.run_id == run_id, SyncItem.outcome == outcome)
        ))


def load_xref(url: str, *, integration: str, entity_type: str) -> list[tuple[str, str, str]]:
    with session_scope(url) as session:
        rows = session.execute(
            select(CrossReference.source_key, CrossReference.psa_id, CrossReference.fingerprint).where(
                CrossReference.integration == integration, CrossReference.entity_type == entity_type
            )
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def save_xrefs(url: str, *, integration: str, xrefs: Sequence[dict[str, Any]]) -> None:
    """Upsert cross-references of one integration (psa_system, entity_type, source_key, psa_id, fingerprint)."""
    with session_scope(url) as session:
        upsert_xrefs(session, integration=integration, xrefs=xrefs)


def upsert_xrefs(session: Session, *, integration: str, xrefs: Sequence[dict[str, Any]]) -> None:
    """:func:`save_xrefs` inside a transaction the caller holds (the ledger marks writes and their
    cross-references together)."""
    now = datetime.now(UTC)
    rows = [{"integration": integration, "updated_at": now, **xref} for xref in xrefs]
    for start in range(0, len(rows), 1000):
        upsert(session, CrossReference, rows[start : start + 1000],
               keys=["integration", "entity_type", "source_key"], update=["psa_id", "fingerprint", "updated_at"])


def add_api_calls(url: str, run_id: int, calls: dict[str, int]) -> None:
    """Add a stage's API calls to its run as soon as the stage ends, failed or not: the run's count
    then includes the calls of a load that crashed half-way (and of every retried attempt)."""
    if not calls:
        return
    with session_scope(url) as session:
        _add_api_calls(session, run_id, calls)


def _add_api_calls(session: Session, run_id: int, calls: dict[str, int]) -> None:
    # Locked (PostgreSQL, FOR NO KEY UPDATE): two tasks adding to one run never lose an addition; SQLite has
    # one writer.
    current = session.execute(_RUN_CALLS_FOR_UPDATE, {"run": run_id}).scalar_one()
    total = dict(current or {})
    for system, count in calls.items():
        total[system] = int(total.get(system, 0)) + int(count)
    session.execute(_SET_RUN_CALLS, {"run": run_id, "calls": total})
