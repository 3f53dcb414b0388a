"""Apply planned operations exactly once, through the ledger (``state/ledger.py``).

Shared by every template and every target (a PSA or a distributor): a template turns its plan into
:class:`Operation` objects and gives an :class:`OperationExecutor` that knows the target. The rules:

- workers claim operations a chunk at a time, just before sending them, so a claim is held only
  while it is being worked on and two integrations writing one tenant share the work instead of
  doubling it;
- an operation found *applied* is never sent again: by this run (an earlier attempt) it keeps its
  outcome; by another run or integration a create becomes *linked* to the record it made, and any
  other operation *unchanged*;
- one that an earlier attempt (or a run that died) may have sent is *uncertain*: a create is looked
  up in the target by its natural key before anything is sent; an update or deactivation sets
  absolute values, so it is simply sent again;
- one that another live run holds right now is waited for, then decided again;
- fatal errors, and writes that cannot even be built from their data, fail that item only (the run
  goes on, status Warning); retriable errors that outlived the client's retries are counted so the
  load task fails and Airflow retries it;
- a spent API budget (:class:`QuotaExhausted`) stops sending: the operations not yet sent are
  reported *deferred* and the next run plans them again; so does a target that stops answering
  (``CIRCUIT_BREAKER`` retriable failures in a row): the task then fails fast and Airflow retries it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from channelsync.canonical.operation import Operation
from channelsync.clients.call_tally import ContextThreadPool
from channelsync.errors import (
    ChannelsyncError,
    FatalApiError,
    OutcomeUnknownError,
    QuotaExhausted,
    RetriableApiError,
    define,
)
from channelsync.runs import outcomes
from channelsync.runs.steps import ItemOutcome, LoadSummary
from channelsync.state.ledger import Claim, Ledger

log = logging.getLogger(__name__)

CIRCUIT_BREAKER = 10
CLAIM_CHUNK = 50
LOAD_CIRCUIT_OPEN = define("LOAD_CIRCUIT_OPEN", "channelsync",
                           "The target failed too many operations in a row; the rest were not sent this attempt")
WRITE_NOT_BUILT = define("WRITE_NOT_BUILT", "channelsync",
                         "The write could not be built or sent from this item's data; only this item failed")
HELD_BY_OTHER_RUN = define("HELD_BY_OTHER_RUN", "channelsync",
                           "Another run (maybe of another integration on the same target) is writing this "
                           "item right now; a later attempt finds its result")


class OperationExecutor(Protocol):
    entity_type: str
    psa_system: str  # the target system's name (kept for the PSA adapters that came first)
    # Whether an applied operation leaves a source ↔ target cross-reference: False where the record is
    # found again through the ledger instead (a contract posting).
    records_xref: bool

    def execute(self, operation: Operation) -> str:
        """Send the operation; return the id of the record it wrote."""
        ...

    def resolve_unknown(self, operation: Operation) -> str | None:
        """For a create whose answer was lost: the id if the record is found in the target, else None."""
        ...


def apply_operations(
    operations: Sequence[Operation],
    executor: OperationExecutor,
    ledger: Ledger,
    *,
    concurrency: int,
    op_outcomes: Mapping[str, str] = outcomes.DEFAULT_OP_OUTCOMES,
    wait_for_others_s: float = 120.0,
) -> LoadSummary:
    unknown = sorted({op.op for op in operations} - set(op_outcomes))
    if unknown:
        raise ValueError(f"operations {unknown} have no declared outcome (the template's op_outcomes)")
    session = _Session(executor, ledger, op_outcomes)
    log.info("load: %d operations for %s (tenant %s) with %d worker(s)", len(operations), ledger.target.system,
             ledger.target.tenant, concurrency)
    pending: list[Operation] = list(operations)
    deadline = time.monotonic() + wait_for_others_s
    while pending:
        session.run(pending, concurrency)
        pending = session.take_held()
        if pending:
            if time.monotonic() >= deadline or session.stop.code is not None:
                session.defer_held(pending)
                break
            log.info("load: %d operation(s) held by another run; waiting for it", len(pending))
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    return session.summary()


class _Session:
    """One attempt's state: outcomes so far, the marks not yet flushed, the stop signal."""

    def __init__(self, executor: OperationExecutor, ledger: Ledger, op_outcomes: Mapping[str, str]) -> None:
        self.executor, self.ledger, self.op_outcomes = executor, ledger, op_outcomes
        self.stop = _StopSignal()
        self.marks = _MarkBuffer(ledger)
        self.results: list[tuple[ItemOutcome, bool]] = []
        self._held: list[Operation] = []
        self._lock = threading.Lock()

    def run(self, operations: Sequence[Operation], concurrency: int) -> None:
        work = _ClaimQueue(operations, self.ledger)
        # No more workers than operations; one works in the calling thread (a mapped load of one PO
        # would otherwise start and join a pool of threads per target for a single write).
        workers = max(1, min(concurrency, len(operations)))
        try:
            if workers == 1:
                self._worker(work)
            else:
                with ContextThreadPool(max_workers=workers, thread_name_prefix="load") as pool:
                    for future in [pool.submit(self._worker, work) for _ in range(workers)]:
                        future.result()
        finally:
            self.marks.flush()

    def _worker(self, work: _ClaimQueue) -> None:
        while (item := work.next()) is not None:
            op, claim = item
            result = self._handle(op, claim)
            if result is not None:
                with self._lock:
                    self.results.append(result)

    def _handle(self, op: Operation, claim: Claim) -> tuple[ItemOutcome, bool] | None:
        if claim.state == "applied":
            return self._already_applied(op, claim), False
        if claim.state == "held":
            with self._lock:
                self._held.append(op)
            return None
        if self.stop.code is not None:
            self.ledger.release([op])
            return _deferred(op, self.stop.code), self.stop.retriable
        outcome, retriable = self._send(op, uncertain=claim.state == "uncertain")
        if self.stop.count(failed=retriable) >= CIRCUIT_BREAKER and \
                self.stop.raise_once(LOAD_CIRCUIT_OPEN, retriable=True):
            log.error("%d operations in a row failed on an unreachable target: not sending the rest this attempt",
                      CIRCUIT_BREAKER)
        return outcome, retriable

    def _already_applied(self, op: Operation, claim: Claim) -> ItemOutcome:
        if claim.run_id == self.ledger.run_id:
            return ItemOutcome(op.source_key, self.op_outcomes[op.op], claim.target_id, op.changed_fields,
                               warnings=["applied by an earlier attempt of this run; not sent again"])
        by = f"{claim.integration} (run {claim.run_id})"
        if op.op == "create" and claim.target_id is not None:
            # Someone else made it (another integration on this tenant): link to it, write nothing.
            xref = self._xref(op, claim.target_id)
            if xref is not None:
                self.ledger.link([xref])
            return ItemOutcome(op.source_key, outcomes.LINKED.name, claim.target_id, [],
                               warnings=[f"created by {by}; linked, not created again"])
        return ItemOutcome(op.source_key, outcomes.UNCHANGED.name, claim.target_id, [],
                           warnings=[f"already applied by {by}; not sent again"])

    def _send(self, op: Operation, *, uncertain: bool) -> tuple[ItemOutcome, bool]:
        found: str | None = None
        # Whatever may have reached the target and must not happen twice is looked up before it is sent
        # again: creates, and every tenant-scoped write (a posting, a PO submission). Updates set
        # absolute values and are simply resent.
        if uncertain and (op.op == "create" or op.scope == "tenant"):
            try:
                found = self.executor.resolve_unknown(op)
            except Exception as lookup_error:
                # Not "failed": that would let a later attempt send the create blindly. It stays unknown,
                # so the next attempt reads the target again first.
                return self._failed(op, _as_channelsync_error(lookup_error), status="unknown"), True
            if found is not None:
                log.warning("%s %s: an earlier attempt wrote it (id %s); not sent again", op.op, op.source_key,
                            found)
        try:
            target_id = found or self._execute_once_more_if_idempotent(op)
        except QuotaExhausted as exc:
            if self.stop.raise_once(exc.code):
                log.warning("API budget spent (%s): the remaining operations are deferred to the next run", exc)
            self.ledger.release([op])
            return _deferred(op, exc.code, str(exc)), False
        except OutcomeUnknownError as exc:
            try:
                target_id = self.executor.resolve_unknown(op)  # type: ignore[assignment]
            except ChannelsyncError as lookup_error:
                return self._failed(op, lookup_error, status="unknown"), True
            if target_id is None:
                # Not found (or an update): a retried attempt decides again, as an uncertain operation.
                return self._failed(op, exc, status="unknown"), True
            log.warning("%s %s: the answer was lost but the write is in the target (id %s)", op.op, op.source_key,
                        target_id)
        except RetriableApiError as exc:
            return self._failed(op, exc, status="failed"), True
        except (FatalApiError, ChannelsyncError) as exc:
            return self._failed(op, exc, status="failed"), False
        except Exception as exc:  # a write that cannot be built from its data fails its item, never the run
            # "unknown", not "failed": whether anything reached the target is not known, so any later
            # attempt reads the target before sending again.
            return self._failed(op, _as_channelsync_error(exc), status="unknown"), False
        self.marks.applied(op, target_id, self._xref(op, target_id))
        return ItemOutcome(op.source_key, self.op_outcomes[op.op], target_id, op.changed_fields), False

    def _execute_once_more_if_idempotent(self, op: Operation) -> str:
        """Updates and deactivations set absolute values: a lost answer is resolved by sending again."""
        try:
            return self.executor.execute(op)
        except OutcomeUnknownError:
            if op.op != "update" and op.op != "deactivate":
                raise
            log.warning("%s %s: answer lost; sending the same absolute values once more", op.op, op.source_key)
            return self.executor.execute(op)

    def _xref(self, op: Operation, target_id: str) -> dict[str, Any] | None:
        """The cross-reference an applied operation leaves, unless the executor keeps none (a posting
        is found again through the ledger, not through a source ↔ target pair)."""
        if not self.executor.records_xref:
            return None
        return {"psa_system": self.ledger.target.system, "entity_type": self.executor.entity_type,
                "source_key": op.source_key, "psa_id": target_id, "fingerprint": op.fingerprint}

    def _failed(self, op: Operation, error: ChannelsyncError, *, status: str) -> ItemOutcome:
        self.ledger.mark_failed(op, status=status, error_code=error.code, error_message=str(error))
        log.error("%s %s failed: %s", op.op, op.source_key, error)
        return ItemOutcome(op.source_key, outcomes.FAILED.name, op.target_id, op.changed_fields,
                           error_code=error.code, error_message=str(error))

    def take_held(self) -> list[Operation]:
        with self._lock:
            held, self._held = self._held, []
        return held

    def defer_held(self, held: Sequence[Operation]) -> None:
        for op in held:
            self.results.append((_deferred(op, HELD_BY_OTHER_RUN), True))

    def summary(self) -> LoadSummary:
        return LoadSummary(outcomes=[outcome for outcome, _ in self.results],
                           retriable_failures=sum(1 for _, retriable in self.results if retriable))


def _as_channelsync_error(exc: Exception) -> ChannelsyncError:
    if isinstance(exc, ChannelsyncError):
        return exc
    return ChannelsyncError(f"{type(exc).__name__}: {exc}", code=WRITE_NOT_BUILT)


def _deferred(op: Operation, code: str, message: str | None = None) -> ItemOutcome:
    return ItemOutcome(op.source_key, outcomes.DEFERRED.name, op.target_id, op.changed_fields, error_code=code,
                       error_message=message or f"not sent ({code}); a later attempt or run sends it")


class _ClaimQueue:
    """Hands workers claimed operations, claiming the next ``CLAIM_CHUNK`` only when they run out."""

    def __init__(self, operations: Sequence[Operation], ledger: Ledger) -> None:
        self._unclaimed = deque(operations)
        self._ready: deque[tuple[Operation, Claim]] = deque()
        self._ledger = ledger
        self._lock = threading.Lock()

    def next(self) -> tuple[Operation, Claim] | None:
        with self._lock:
            if not self._ready and self._unclaimed:
                chunk = [self._unclaimed.popleft() for _ in range(min(CLAIM_CHUNK, len(self._unclaimed)))]
                claims = self._ledger.claim([op for op in chunk])
                self._ready.extend((op, claims[op.key]) for op in chunk)
            return self._ready.popleft() if self._ready else None


class _MarkBuffer:
    """Marks applied operations in batches (one transaction per ``BATCH`` marks or ``SECONDS``).

    A mark per transaction cost ~6 ms per operation on SQLite under three workers. A crash loses at
    most the unflushed marks: those operations stay *pending* for this run, and a retried attempt
    treats them as uncertain (creates looked up by natural key, updates resent), so nothing doubles.
    """

    BATCH = 50
    SECONDS = 0.2

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._marks: list[tuple[Operation, str, dict[str, Any] | None]] = []
        self._lock = threading.Lock()  # the buffer only: held for an append or a swap, never for a write
        self._writing = threading.Lock()  # one batch written at a time, in the order they were taken
        self._flushed_at = time.monotonic()

    def applied(self, entry: Operation, target_id: str, xref: dict[str, Any] | None) -> None:
        with self._lock:
            self._marks.append((entry, target_id, xref))
            due = len(self._marks) >= self.BATCH or time.monotonic() - self._flushed_at >= self.SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        # The batch is taken under the writing lock, so batches reach the ledger in order, one writer at a
        # time; the buffer's own lock is not held during the write, so the other workers record their marks
        # and go on sending while one worker writes (holding both cost each of them the whole write).
        with self._writing:
            with self._lock:
                marks, self._marks = self._marks, []
                self._flushed_at = time.monotonic()
            if marks:
                self.ledger.mark_applied_many(marks)


class _StopSignal:
    """Set once (budget spent, or the target unreachable); the workers then stop sending."""

    def __init__(self) -> None:
        self.code: str | None = None
        self.retriable = False  # whether the operations it holds back make the task worth retrying
        self._failures_in_a_row = 0
        self._lock = threading.Lock()

    def raise_once(self, code: str, *, retriable: bool = False) -> bool:
        with self._lock:
            first = self.code is None
            if first:
                self.code, self.retriable = code, retriable
            return first

    def count(self, *, failed: bool) -> int:
        """Consecutive retriable failures so far (a success resets the count)."""
        with self._lock:
            self._failures_in_a_row = self._failures_in_a_row + 1 if failed else 0
            return self._failures_in_a_row
