"""State-store reads and writes the run shape needs: runs, items, ledger, cross-reference."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from channelsync.state.db import session_scope
from channelsync.state.models import CrossReference, OperationLedger, SyncItem, SyncRun
from channelsync.state.upsert import upsert


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
    url: str, run_id: int, *, status: str, counts: dict[str, int], api_calls: dict[str, int],
    plan_path: str | None = None, clear_error: bool = True,
) -> None:
    """Close the run; a failed run keeps the error its failing stage recorded."""
    with session_scope(url) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        now = datetime.now(UTC)
        started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
        run.status, run.counts, run.api_calls = status, counts, api_calls
        if clear_error:
            run.error_code, run.error_message = None, None
        run.finished_at, run.duration_s = now, (now - started).total_seconds()
        if plan_path:
            run.plan_path = plan_path


def record_error(url: str, run_id: int, *, error_code: str, error_message: str) -> None:
    with session_scope(url) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        run.error_code, run.error_message = error_code[:80], error_message[:4000]


def replace_items(url: str, run_id: int, stage: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    """Record items of one stage; a retried stage replaces its own earlier rows, not the others'."""
    payload = [{"run_id": run_id, **row} for row in rows]
    with session_scope(url) as session:
        session.execute(delete(SyncItem).where(SyncItem.run_id == run_id, SyncItem.outcome.in_(list(stage))))
        if payload:
            session.execute(insert(SyncItem), payload)


def item_counts(url: str, run_id: int) -> dict[str, int]:
    from sqlalchemy import func

    with session_scope(url) as session:
        rows = session.execute(
            select(SyncItem.outcome, func.count()).where(SyncItem.run_id == run_id).group_by(SyncItem.outcome)
        ).all()
    return {outcome: count for outcome, count in rows}


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


class Ledger:
    """The operation ledger of one integration: record before sending, mark after."""

    def __init__(self, url: str, *, integration: str, template: str) -> None:
        self.url, self.integration, self.template = url, integration, template

    def statuses(self, run_id: int, keys: Sequence[str]) -> dict[str, str]:
        """The ledger status of each key already recorded in this run (pending | applied | failed | unknown)."""
        out: dict[str, str] = {}
        with session_scope(self.url) as session:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                out.update(
                    session.execute(
                        select(OperationLedger.idempotency_key, OperationLedger.status).where(
                            OperationLedger.run_id == run_id, OperationLedger.idempotency_key.in_(chunk)
                        )
                    ).tuples().all()
                )
        return out

    def record_pending(self, run_id: int, ops: Sequence[dict[str, Any]]) -> None:
        """``ops``: dicts with idempotency_key, op, source_key, psa_id. Existing keys stay as they are."""
        rows = [
            {"integration": self.integration, "template": self.template, "run_id": run_id, "status": "pending",
             **{k: op[k] for k in ("idempotency_key", "op", "source_key", "psa_id")}}
            for op in ops
        ]
        with session_scope(self.url) as session:
            for start in range(0, len(rows), 1000):
                upsert(session, OperationLedger, rows[start : start + 1000], keys=["run_id", "idempotency_key"])

    def mark_applied_many(self, run_id: int, marks: Sequence[tuple[str, str, dict[str, Any] | None]]) -> None:
        """``mark_applied`` for many operations in one transaction: (key, psa_id, xref or None) each."""
        if not marks:
            return
        now = datetime.now(UTC)
        with session_scope(self.url) as session:
            for key, psa_id, _xref in marks:
                session.execute(
                    update(OperationLedger)
                    .where(OperationLedger.run_id == run_id, OperationLedger.idempotency_key == key)
                    .values(status="applied", psa_id=psa_id, error_code=None, error_message=None, updated_at=now)
                )
            xrefs = [{"integration": self.integration, "updated_at": now, **xref} for _, _, xref in marks if xref]
            upsert(session, CrossReference, xrefs, keys=["integration", "entity_type", "source_key"],
                   update=["psa_id", "fingerprint", "updated_at"])

    def mark_failed(self, run_id: int, key: str, *, status: str, error_code: str, error_message: str) -> None:
        with session_scope(self.url) as session:
            session.execute(
                update(OperationLedger)
                .where(OperationLedger.run_id == run_id, OperationLedger.idempotency_key == key)
                .values(status=status, error_code=error_code, error_message=error_message[:2000],
                        updated_at=datetime.now(UTC))
            )

    def link(self, xrefs: Sequence[dict[str, Any]]) -> None:
        """Record cross-references without a write (hand-made products linked as they are)."""
        now = datetime.now(UTC)
        rows = [{"integration": self.integration, "updated_at": now, **xref} for xref in xrefs]
        with session_scope(self.url) as session:
            for start in range(0, len(rows), 1000):
                upsert(session, CrossReference, rows[start : start + 1000],
                       keys=["integration", "entity_type", "source_key"],
                       update=["psa_id", "fingerprint", "updated_at"])
