"""The operation ledger: claim a write before sending it, mark it after — exactly once, across runs,
retries, processes and integrations.

An operation is claimed under (target system, target tenant, scope, idempotency key); see
:class:`~channelsync.state.models.OperationLedger`. Claiming inserts the row (``pending``, held by
this task attempt); the unique key makes exactly one claimant win, on SQLite and PostgreSQL alike.
What a claim finds decides what the loader does:

- ``send``: the row is new, or a definite earlier failure (``failed``: refused, not written) — send it;
- ``uncertain``: an earlier attempt of this run, or an orphan (its run has finished, or it is older
  than :data:`ORPHAN_AFTER`), may have sent it — the loader reads the target before sending again;
- ``applied``: done already (by this run, another run or another integration) — never sent again;
- ``held``: another run that is still running holds it right now — the loader waits for it.

Taking over a row is a compare-and-set on its holder, so two claimants never both win.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Table, bindparam, delete, select, update

from channelsync.canonical.operation import Operation, Scope
from channelsync.state.db import session_scope
from channelsync.state.models import OperationLedger, SyncRun
from channelsync.state.repository import save_xrefs, upsert_xrefs
from channelsync.state.upsert import dialect_insert

ClaimState = Literal["send", "uncertain", "applied", "held"]
ORPHAN_AFTER = timedelta(hours=1)
_CHUNK = 400
# Core statements on the table, with the rows as executemany parameters: compiled once and cached (an
# ORM-enabled statement, or a multi-row VALUES, is compiled again for every claim and every mark, which
# was most of a one-operation load's cost in a mapped task).
_LEDGER: Table = OperationLedger.__table__  # type: ignore[assignment]
_KEY = ["target_system", "target_tenant", "scope", "idempotency_key"]
_MARK_APPLIED = update(_LEDGER).where(_LEDGER.c.id == bindparam("row_id")).values(
    status="applied", target_id=bindparam("applied_id"), error_code=None, error_message=None,
    updated_at=bindparam("applied_at"))
_ROW_COLUMNS = (_LEDGER.c.id, _LEDGER.c.scope, _LEDGER.c.idempotency_key, _LEDGER.c.status, _LEDGER.c.target_id,
                _LEDGER.c.integration, _LEDGER.c.run_id, _LEDGER.c.holder, _LEDGER.c.details, _LEDGER.c.updated_at)


@lru_cache(maxsize=4)
def _claim_insert(dialect: str) -> Any:
    return dialect_insert(dialect, _LEDGER).on_conflict_do_nothing(index_elements=_KEY).returning(
        _LEDGER.c.id, _LEDGER.c.scope, _LEDGER.c.idempotency_key)


@dataclass(frozen=True)
class Target:
    """The system written to and its tenant (the Autotask database, the ConnectWise company, the TD
    SYNNEX account): the scope of exactly-once, never the integration."""

    system: str
    tenant: str


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    target_id: str | None = None
    integration: str | None = None  # who applied / holds it
    run_id: int | None = None
    details: dict[str, Any] | None = None


class Ledger:
    """The ledger as one task attempt of one run sees it (``holder`` is unique per attempt)."""

    def __init__(self, url: str, *, integration: str, template: str, run_id: int, target: Target,
                 entity_type: str) -> None:
        self.url, self.integration, self.template = url, integration, template
        self.run_id, self.target, self.entity_type = run_id, target, entity_type
        self.holder = uuid.uuid4().hex
        self._row_ids: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def scope_of(self, scope: Scope) -> str:
        return "tenant" if scope == "tenant" else f"run:{self.run_id}"

    # -- claiming -----------------------------------------------------------------------------------
    def claim(self, entries: Sequence[Operation]) -> dict[str, Claim]:
        """Claim ``entries`` in one transaction; returns the claim of each key."""
        now = datetime.now(UTC)
        result: dict[str, Claim] = {}
        with session_scope(self.url) as session:
            for start in range(0, len(entries), _CHUNK):
                chunk = entries[start: start + _CHUNK]
                # Rows in key order: two claimants inserting overlapping keys then wait on each other in
                # the same order, never in a cycle (PostgreSQL would abort one as a deadlock).
                rows_in_order = sorted((self._new_row(entry, now) for entry in chunk),
                                       key=lambda row: (row["scope"], row["idempotency_key"]))
                # RETURNING names the rows this claim inserted (new keys: sent at once); only the keys
                # someone else had are read back to decide.
                inserted = {(row.scope, row.idempotency_key): row.id for row in session.execute(
                    _claim_insert(session.get_bind().dialect.name), rows_in_order)}
                known = [entry for entry in chunk if (self.scope_of(entry.scope), entry.key) not in inserted]
                rows = self._rows(session, known) if known else {}
                creating = self._creates_in_progress(session, chunk, now)
                finished = self._finished_runs(session, {row.run_id for row in rows.values()
                                                         if row.holder != self.holder and row.run_id is not None})
                for entry in chunk:
                    where = (self.scope_of(entry.scope), entry.key)
                    row = rows.get(where)
                    with self._lock:
                        self._row_ids[where] = inserted[where] if row is None else row.id
                    claim = Claim("send") if row is None else self._decide(session, row, finished, now)
                    if claim.state in ("send", "uncertain") and entry.follows in creating:
                        claim = self._held(creating[str(entry.follows)])  # kept: a later claim of it decides again
                    result[entry.key] = claim
        return result

    def _creates_in_progress(self, session: Any, chunk: Sequence[Operation], now: datetime) -> dict[str, Any]:
        """The creates that ops of ``chunk`` follow (:attr:`Operation.follows`) which another run that is still
        running holds unsettled right now, by key.

        A create written in parts (an Autotask product, then its vendor row) is visible in the target before it
        is complete: another integration reading it then may plan to complete it too (an update ensuring the
        vendor row) and, sent at once, write the part twice. Held until the create is marked, that update finds
        the part in place. A create whose run has ended, or older than :data:`ORPHAN_AFTER`, holds nothing."""
        keys = sorted({entry.follows for entry in chunk if entry.follows})
        if not keys:
            return {}
        rows = [row for row in session.execute(select(*_ROW_COLUMNS).where(
            _LEDGER.c.target_system == self.target.system, _LEDGER.c.target_tenant == self.target.tenant,
            _LEDGER.c.scope == "tenant", _LEDGER.c.idempotency_key.in_(keys),
            _LEDGER.c.status.in_(("pending", "unknown")))) if row.run_id != self.run_id and row.holder != self.holder]
        finished = self._finished_runs(session, {row.run_id for row in rows if row.run_id is not None})
        return {str(row.idempotency_key): row for row in rows if not _orphan(row, finished, now)}

    def _new_row(self, entry: Operation, now: datetime) -> dict[str, Any]:
        return {
            "target_system": self.target.system, "target_tenant": self.target.tenant,
            "scope": self.scope_of(entry.scope), "idempotency_key": entry.key, "entity_type": self.entity_type,
            "op": entry.op, "source_key": entry.source_key, "target_id": entry.target_id, "status": "pending",
            "integration": self.integration, "template": self.template, "run_id": self.run_id,
            "holder": self.holder, "details": {}, "created_at": now, "updated_at": now,
        }

    def _rows(self, session: Any, chunk: Sequence[Operation]) -> dict[tuple[str, str], Any]:
        rows: dict[tuple[str, str], Any] = {}
        for scope in {self.scope_of(entry.scope) for entry in chunk}:
            keys = [entry.key for entry in chunk if self.scope_of(entry.scope) == scope]
            found = session.execute(select(*_ROW_COLUMNS).where(
                _LEDGER.c.target_system == self.target.system, _LEDGER.c.target_tenant == self.target.tenant,
                _LEDGER.c.scope == scope, _LEDGER.c.idempotency_key.in_(keys)))
            rows.update({(row.scope, row.idempotency_key): row for row in found})
        return rows

    @staticmethod
    def _finished_runs(session: Any, run_ids: set[int]) -> set[int]:
        if not run_ids:
            return set()
        return set(session.scalars(select(SyncRun.id).where(SyncRun.id.in_(run_ids), SyncRun.status != "running")))

    def _decide(self, session: Any, row: Any, finished: set[int], now: datetime) -> Claim:
        if row.status == "applied":
            return Claim("applied", row.target_id, row.integration, row.run_id, dict(row.details or {}))
        if row.holder == self.holder:
            return Claim("send")  # inserted just now
        if row.status == "failed":  # refused by the target: nothing was written, so it may be sent
            return Claim("send") if self._take_over(session, row, now) else self._held(row)
        if row.run_id == self.run_id or _orphan(row, finished, now):  # pending / unknown: it may have been sent
            return Claim("uncertain") if self._take_over(session, row, now) else self._held(row)
        return self._held(row)

    @staticmethod
    def _held(row: Any) -> Claim:
        return Claim("held", row.target_id, row.integration, row.run_id)

    def _take_over(self, session: Any, row: Any, now: datetime) -> bool:
        taken = session.execute(
            update(_LEDGER)
            .where(_LEDGER.c.id == row.id, _LEDGER.c.holder == row.holder, _LEDGER.c.status == row.status)
            .values(holder=self.holder, run_id=self.run_id, integration=self.integration, template=self.template,
                    status="pending", updated_at=now)
        ).rowcount
        return bool(taken)

    def release(self, entries: Sequence[Operation]) -> None:
        """Give back claims that were never sent (deferred): nobody has to resolve them later."""
        with session_scope(self.url) as session:
            for entry in entries:
                session.execute(delete(_LEDGER).where(
                    _LEDGER.c.id == self._row_id(entry), _LEDGER.c.holder == self.holder,
                    _LEDGER.c.status == "pending"))

    # -- marking ------------------------------------------------------------------------------------
    def mark_applied_many(self, marks: Sequence[tuple[Operation, str, dict[str, Any] | None]]) -> None:
        """(entry, target id, xref row or None) each, in one transaction."""
        if not marks:
            return
        now = datetime.now(UTC)
        with session_scope(self.url) as session:
            session.execute(_MARK_APPLIED, [{"row_id": self._row_id(entry), "applied_id": target_id, "applied_at": now}
                                            for entry, target_id, _xref in marks])
            upsert_xrefs(session, integration=self.integration, xrefs=[xref for _, _, xref in marks if xref])

    def mark_failed(self, entry: Operation, *, status: str, error_code: str, error_message: str) -> None:
        """``status``: failed (refused: not written) or unknown (no answer: may have been written)."""
        with session_scope(self.url) as session:
            session.execute(
                update(_LEDGER).where(_LEDGER.c.id == self._row_id(entry))
                .values(status=status, error_code=error_code[:80], error_message=error_message[:2000],
                        updated_at=datetime.now(UTC)))

    def supersede(self, source_prefix: str, planned: set[str]) -> int:
        """Settle this run's unsettled claims (``pending``, ``unknown``) under ``source_prefix`` whose keys
        its new plan no longer holds; returns how many.

        For a template that re-plans from the target at every attempt (subscription_billing: a retried
        customer reads its contract again), a key that dropped out of the plan needs nothing more: its
        write landed before the attempt died or its answer was lost, or a person changed the record since.
        Left ``pending`` it would stay so for ever; ``superseded`` says what happened. Should the same
        key be planned again, a claim treats it as uncertain (not applied, not refused): the target is
        read before anything is sent."""
        with session_scope(self.url) as session:
            rows = session.execute(select(_LEDGER.c.id, _LEDGER.c.idempotency_key).where(
                _LEDGER.c.run_id == self.run_id, _LEDGER.c.template == self.template,
                _LEDGER.c.target_system == self.target.system, _LEDGER.c.target_tenant == self.target.tenant,
                _LEDGER.c.status.in_(("pending", "unknown")),
                _LEDGER.c.source_key.startswith(source_prefix, autoescape=True))).all()
            stale = [row.id for row in rows if row.idempotency_key not in planned]
            if stale:
                session.execute(update(_LEDGER).where(_LEDGER.c.id.in_(stale)).values(
                    status="superseded", updated_at=datetime.now(UTC),
                    error_message="no longer planned: the target, read again, needs nothing more of it"))
        return len(stale)

    def link(self, xrefs: Sequence[dict[str, Any]]) -> None:
        """Record cross-references without a write (records that already exist in the target)."""
        save_xrefs(self.url, integration=self.integration, xrefs=xrefs)

    def _row_id(self, entry: Operation) -> int:
        with self._lock:
            return self._row_ids[(self.scope_of(entry.scope), entry.key)]

    # -- reading ------------------------------------------------------------------------------------
    def statuses(self, entries: Sequence[Operation]) -> dict[str, str]:
        """The ledger status of each entry's key (missing: never claimed)."""
        out: dict[str, str] = {}
        with session_scope(self.url) as session:
            for scope in {self.scope_of(entry.scope) for entry in entries}:
                keys = [entry.key for entry in entries if self.scope_of(entry.scope) == scope]
                for start in range(0, len(keys), _CHUNK):
                    out.update(session.execute(
                        select(OperationLedger.idempotency_key, OperationLedger.status).where(
                            OperationLedger.target_system == self.target.system,
                            OperationLedger.target_tenant == self.target.tenant,
                            OperationLedger.scope == scope,
                            OperationLedger.idempotency_key.in_(keys[start: start + _CHUNK]))).tuples().all())
        return out


def _orphan(row: Any, finished: set[int], now: datetime) -> bool:
    """Whether the run holding ``row`` is gone: none, ended (``finished``), or silent past :data:`ORPHAN_AFTER`."""
    updated = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC)
    return row.run_id is None or row.run_id in finished or now - updated > ORPHAN_AFTER
