"""Exactly once across runs, retries, integrations and processes (SQLite, and PostgreSQL when configured).

A tenant-scoped operation (a creation, a billing posting, a PO submission) is sent once per target
tenant whatever carries it; a run-scoped one once per run.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from channelsync.runs.loader import Operation, apply_operations
from channelsync.state import db, repository
from channelsync.state.ledger import Ledger, Target
from tests.state.test_loader import ScriptedPsa

TENANT = Target("testpsa", "tenant-1")


def _posting(i: int, scope: str = "tenant") -> Operation:
    return Operation(key=f"post:{i}", op="create", source_key=f"line-{i}", target_id=None, fields={"i": i},
                     fingerprint=f"f{i}", scope=scope)  # type: ignore[arg-type]


def _run(url: str, integration: str, key: str) -> int:
    return repository.start_run(url, integration=integration, template="t", run_key=key, preview=False)


def _ledger(url: str, run_id: int, integration: str = "a", target: Target = TENANT) -> Ledger:
    return Ledger(url, integration=integration, template="t", run_id=run_id, target=target, entity_type="product")


@pytest.fixture()
def url(state_url: str) -> str:
    db.upgrade(state_url)
    return state_url


def test_applied_in_run_1_is_not_sent_by_run_2_a_retry_or_another_integration(url: str) -> None:
    psa = ScriptedPsa()
    run_1 = _run(url, "a", "r1")
    first = apply_operations([_posting(1), _posting(2)], psa, _ledger(url, run_1), concurrency=2)
    assert Counter(o.outcome for o in first.outcomes) == Counter({"created": 2})
    repository.finish_run(url, run_1, status="success", counts={})

    retry = apply_operations([_posting(1)], psa, _ledger(url, run_1), concurrency=1)  # a new attempt of run 1
    later = apply_operations([_posting(1)], psa, _ledger(url, _run(url, "a", "r2")), concurrency=1)
    other = apply_operations([_posting(2)], psa, _ledger(url, _run(url, "b", "r3"), integration="b"), concurrency=1)

    assert psa.sent == Counter({"line-1": 1, "line-2": 1})
    assert [o.outcome for o in retry.outcomes] == ["created"]  # this run's own write, reported once more
    assert [(o.outcome, o.psa_id) for o in later.outcomes] == [("linked", "id-line-1")]
    assert [(o.outcome, o.psa_id) for o in other.outcomes] == [("linked", "id-line-2")]
    # The second integration links to the record the first made: it has its own cross-reference now.
    assert repository.load_xref(url, integration="b", entity_type="product") == [("line-2", "id-line-2", "f2")]


def test_the_same_key_on_another_tenant_is_another_write(url: str) -> None:
    psa = ScriptedPsa()
    apply_operations([_posting(1)], psa, _ledger(url, _run(url, "a", "r1")), concurrency=1)
    apply_operations([_posting(1)], psa, _ledger(url, _run(url, "a", "r2"), target=Target("testpsa", "tenant-2")),
                     concurrency=1)
    assert psa.sent == Counter({"line-1": 2})


def test_run_scoped_keys_repeat_across_runs(url: str) -> None:
    """An update back to an earlier value legitimately repeats its key in a later run."""
    psa = ScriptedPsa()
    for key in ("r1", "r2"):
        apply_operations([_posting(1, scope="run")], psa, _ledger(url, _run(url, "a", key)), concurrency=1)
    assert psa.sent == Counter({"line-1": 2})


def test_a_claim_left_by_a_finished_run_is_resolved_by_reading_the_target(url: str) -> None:
    """The holder died after sending, before marking; its run was closed. Nothing is sent twice."""
    dead_run = _run(url, "a", "r1")
    _ledger(url, dead_run).claim([_posting(1), _posting(2)])
    repository.finish_run(url, dead_run, status="failure", counts={})
    psa = ScriptedPsa()
    psa.applied["line-1"] = "id-line-1"  # it did reach the target
    summary = apply_operations([_posting(1), _posting(2)], psa, _ledger(url, _run(url, "b", "r2"), "b"),
                               concurrency=1)
    assert psa.sent == Counter({"line-2": 1})
    assert sorted((o.source_key, o.outcome) for o in summary.outcomes) == [("line-1", "created"),
                                                                            ("line-2", "created")]


def test_a_claim_of_a_running_run_is_waited_for_then_deferred(url: str) -> None:
    busy = _ledger(url, _run(url, "a", "r1"))
    busy.claim([_posting(1)])  # held, still running, never finishes here
    psa = ScriptedPsa()
    summary = apply_operations([_posting(1)], psa, _ledger(url, _run(url, "b", "r2"), "b"), concurrency=1,
                               wait_for_others_s=0.5)
    assert psa.sent == Counter()
    assert [(o.outcome, o.error_code) for o in summary.outcomes] == [("deferred", "HELD_BY_OTHER_RUN")]
    assert summary.retriable_failures == 1  # the task fails and Airflow retries it later


class _SlowLoggingPsa(ScriptedPsa):
    """Appends one line per write to a file shared by the racing processes."""

    def __init__(self, log_path: str) -> None:
        super().__init__()
        self.log_path = log_path

    def execute(self, operation: Operation) -> str:
        time.sleep(0.005)
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"{operation.source_key}\n")
        return super().execute(operation)


def _race(url: str, integration: str, log_path: str, start_at: float, result_path: str) -> None:
    # Each process is its own task: its own run, its own integration, the same tenant.
    from channelsync.state.db import engine_for

    engine_for.cache_clear()
    run_id = _run(url, integration, f"race-{integration}")
    time.sleep(max(0.0, start_at - time.time()))
    summary = apply_operations([_posting(i) for i in range(200)], _SlowLoggingPsa(log_path),
                               _ledger(url, run_id, integration), concurrency=3)
    outcomes: dict[str, Any] = Counter(o.outcome for o in summary.outcomes)
    Path(result_path).write_text(json.dumps(dict(outcomes)))


def test_two_processes_racing_on_the_same_keys_send_each_exactly_once(url: str, tmp_path: Path) -> None:
    log_path = tmp_path / "sent.log"
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 3.0
    workers = [context.Process(target=_race, args=(url, name, str(log_path), start_at, str(tmp_path / name)))
               for name in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    sent = Counter(log_path.read_text().split())
    assert len(sent) == 200 and set(sent.values()) == {1}, [k for k, n in sent.items() if n > 1][:5]
    results = [json.loads((tmp_path / name).read_text()) for name in ("a", "b")]
    # Both processes did part of the work, and each reports every posting: created by it, or linked.
    assert all(r.get("created", 0) + r.get("linked", 0) == 200 for r in results), results
    assert sum(r.get("created", 0) for r in results) == 200, results
    assert os.path.getsize(log_path) > 0


def test_retention_drops_run_scoped_rows_of_old_runs_and_keeps_tenant_rows(url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select, update

    from channelsync.state.db import session_scope
    from channelsync.state.models import OperationLedger, SyncRun
    from channelsync.state.retention import remove_run_scoped_ledger

    run_id = _run(url, "a", "old")
    apply_operations([_posting(1), _posting(2, scope="run")], ScriptedPsa(), _ledger(url, run_id), concurrency=1)
    repository.finish_run(url, run_id, status="success", counts={})
    with session_scope(url) as session:
        session.execute(update(SyncRun).values(finished_at=datetime.now(UTC) - timedelta(days=30)))
    assert remove_run_scoped_ledger(older_than_days=14, url=url) == {"removed": 1}
    with session_scope(url) as session:
        assert list(session.scalars(select(OperationLedger.scope))) == ["tenant"]


def test_an_uncertain_tenant_scoped_write_is_looked_up_whatever_its_operation(url: str) -> None:
    """A posting (not a "create") left pending by a dead run: the target is read before any resend."""
    dead_run = _run(url, "a", "r1")
    posting = Operation(key="post:9", op="post", source_key="line-9", target_id=None, fields={}, scope="tenant")
    _ledger(url, dead_run).claim([posting])
    repository.finish_run(url, dead_run, status="failure", counts={})
    psa = ScriptedPsa()
    psa.applied["line-9"] = "id-line-9"  # it did reach the target
    summary = apply_operations([posting], psa, _ledger(url, _run(url, "a", "r2")), concurrency=1,
                               op_outcomes={"post": "created"})
    assert psa.sent == Counter() and [(o.outcome, o.psa_id) for o in summary.outcomes] == [("created", "id-line-9")]
