"""The exactly-once loader against a real state store (SQLite, and PostgreSQL when configured).

The executor here is a scripted stand-in for a PSA adapter: the loader's contract with it is a Python
protocol, and these tests pin the loader's rules, not any PSA's behaviour (the e2e tests do that).
Cross-run and cross-process exactly-once is in ``test_ledger_exactly_once.py``.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from channelsync.errors import FatalApiError, OutcomeUnknownError, QuotaExhausted, RetriableApiError
from channelsync.runs.loader import CIRCUIT_BREAKER, Operation, apply_operations
from channelsync.state import db, repository
from channelsync.state.ledger import Ledger, Target

TARGET = Target("testpsa", "tenant-1")


class ScriptedPsa:
    entity_type = "product"
    records_xref = True
    psa_system = "testpsa"

    def __init__(self, script: dict[str, str] | None = None, default: str = "ok") -> None:
        self.script = script or {}
        self.default = default
        self.sent: Counter[str] = Counter()
        self.applied: dict[str, str] = {}
        self._lock = threading.Lock()

    def execute(self, operation: Operation) -> str:
        with self._lock:
            self.sent[operation.source_key] += 1
        behaviour = self.script.get(operation.source_key, self.default)
        common = {"system": "testpsa", "code": "X"}
        if behaviour == "lost_after_write":
            self.applied[operation.source_key] = f"id-{operation.source_key}"
            raise OutcomeUnknownError("no answer", **common)
        if behaviour == "lost_before_write":
            raise OutcomeUnknownError("no answer", **common)
        if behaviour == "fatal":
            raise FatalApiError("refused", **common)
        if behaviour == "down":
            raise RetriableApiError("unreachable", **common)
        if behaviour == "quota":
            raise QuotaExhausted("budget spent", **common)
        self.applied[operation.source_key] = f"id-{operation.source_key}"
        return self.applied[operation.source_key]

    def resolve_unknown(self, operation: Operation) -> str | None:
        return self.applied.get(operation.source_key)


def _ops(n: int) -> list[Operation]:
    return [Operation(key=f"k{i}", op="create", source_key=f"s{i}", target_id=None, fields={}, fingerprint=f"f{i}")
            for i in range(n)]


def attempt(state_url: str, run_id: int, integration: str = "i") -> Ledger:
    """The ledger as one task attempt sees it (each attempt has its own holder)."""
    return Ledger(state_url, integration=integration, template="t", run_id=run_id, target=TARGET,
                  entity_type="product")


@pytest.fixture()
def ledger(state_url: str) -> tuple[Ledger, int]:
    db.upgrade(state_url)
    run_id = repository.start_run(state_url, integration="i", template="t", run_key="r", preview=False)
    return attempt(state_url, run_id), run_id


def test_a_retried_attempt_sends_only_what_is_not_applied(ledger: tuple[Ledger, int], state_url: str) -> None:
    store, run_id = ledger
    psa = ScriptedPsa({"s3": "down"})
    first = apply_operations(_ops(6), psa, store, concurrency=3)
    assert first.retriable_failures == 1
    psa.script = {}
    second = apply_operations(_ops(6), psa, attempt(state_url, run_id), concurrency=3)
    assert second.retriable_failures == 0
    assert psa.sent == Counter({"s0": 1, "s1": 1, "s2": 1, "s3": 2, "s4": 1, "s5": 1})
    assert {(k, p) for k, p, _ in repository.load_xref(state_url, integration="i", entity_type="product")} == {
        (f"s{i}", f"id-s{i}") for i in range(6)}


def test_lost_answers_are_resolved_by_lookup_never_resent_blindly(ledger: tuple[Ledger, int]) -> None:
    store, _run_id = ledger
    psa = ScriptedPsa({"s0": "lost_after_write", "s1": "lost_before_write"})
    summary = apply_operations(_ops(2), psa, store, concurrency=1)
    outcomes = {o.source_key: o.outcome for o in summary.outcomes}
    assert outcomes == {"s0": "created", "s1": "failed"}
    assert summary.retriable_failures == 1 and psa.sent == Counter({"s0": 1, "s1": 1})


def test_fatal_errors_fail_the_item_only(ledger: tuple[Ledger, int]) -> None:
    store, _run_id = ledger
    summary = apply_operations(_ops(4), ScriptedPsa({"s2": "fatal"}), store, concurrency=2)
    assert Counter(o.outcome for o in summary.outcomes) == Counter({"created": 3, "failed": 1})
    assert summary.retriable_failures == 0


def test_a_write_that_cannot_be_built_fails_its_item_only(ledger: tuple[Ledger, int]) -> None:
    """E.g. requests refusing a body with an infinite float: not an API error, still only that item."""
    store, _ = ledger
    psa = ScriptedPsa()
    original = psa.execute

    def refuse_s1(operation: Operation) -> str:
        if operation.source_key == "s1":
            raise ValueError("Out of range float values are not JSON compliant")
        return original(operation)

    psa.execute = refuse_s1  # type: ignore[method-assign]
    summary = apply_operations(_ops(3), psa, store, concurrency=1)
    outcomes = {o.source_key: (o.outcome, o.error_code) for o in summary.outcomes}
    assert outcomes == {"s0": ("created", None), "s1": ("failed", "WRITE_NOT_BUILT"), "s2": ("created", None)}
    # Not known whether it reached the target: any later attempt looks it up before sending.
    assert store.statuses(_ops(3))["k1"] == "unknown"


def test_spent_budget_defers_the_rest_without_sending(ledger: tuple[Ledger, int]) -> None:
    store, _run_id = ledger
    psa = ScriptedPsa({"s2": "quota"})
    summary = apply_operations(_ops(8), psa, store, concurrency=1)
    assert [o.outcome for o in summary.outcomes] == ["created", "created"] + ["deferred"] * 6
    assert sum(psa.sent.values()) == 3 and summary.retriable_failures == 0
    # Claims never sent are given back: a later run does not have to resolve them.
    statuses = store.statuses(_ops(8))
    assert statuses == {"k0": "applied", "k1": "applied"}


def test_an_unreachable_psa_opens_the_circuit(ledger: tuple[Ledger, int]) -> None:
    store, _run_id = ledger
    psa = ScriptedPsa(default="down")
    summary = apply_operations(_ops(50), psa, store, concurrency=1)
    assert sum(psa.sent.values()) == CIRCUIT_BREAKER
    assert summary.retriable_failures == 50  # the task fails and Airflow retries it later
    assert Counter(o.outcome for o in summary.outcomes) == Counter({"failed": CIRCUIT_BREAKER, "deferred": 40})


def test_a_create_left_pending_by_a_crashed_attempt_is_looked_up_not_resent(ledger: tuple[Ledger, int]) -> None:
    """The crash case: the PSA wrote the product, the process died before marking it applied."""
    store, run_id = ledger
    operations = _ops(3)
    store.claim(operations)  # the crashed attempt claimed them, then died
    psa = ScriptedPsa()
    psa.applied["s1"] = "id-s1"  # written by the attempt that crashed
    summary = apply_operations(operations, psa, attempt(store.url, run_id), concurrency=1)
    assert psa.sent == Counter({"s0": 1, "s2": 1})
    assert {o.source_key: (o.outcome, o.psa_id) for o in summary.outcomes}["s1"] == ("created", "id-s1")


def test_an_update_whose_answer_was_lost_is_sent_again(ledger: tuple[Ledger, int]) -> None:
    store, _run_id = ledger
    update = Operation(key="u0", op="update", source_key="s0", target_id="id-s0", fields={"unit_price": 2.0})
    psa = ScriptedPsa({"s0": "lost_before_write"})
    calls = {"n": 0}
    original = psa.execute

    def lose_first_answer(operation: Operation) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            return original(operation)  # raises OutcomeUnknownError (scripted)
        psa.script = {}
        return original(operation)

    psa.execute = lose_first_answer  # type: ignore[method-assign]
    summary = apply_operations([update], psa, store, concurrency=1)
    assert [o.outcome for o in summary.outcomes] == ["updated"] and psa.sent["s0"] == 2


def test_a_failed_lookup_of_an_uncertain_create_keeps_it_uncertain(ledger: tuple[Ledger, int]) -> None:
    """The lookup before resending failed: the create must never become sendable blindly."""
    store, run_id = ledger
    operations = _ops(1)
    store.claim(operations)  # a crashed attempt claimed it (maybe sent it)
    psa = ScriptedPsa()

    def lookup_down(operation: Operation) -> str | None:
        raise RetriableApiError("unreachable", system="testpsa", code="X")

    psa.resolve_unknown = lookup_down  # type: ignore[method-assign]
    retry = attempt(store.url, run_id)
    summary = apply_operations(operations, psa, retry, concurrency=1)
    assert [o.outcome for o in summary.outcomes] == ["failed"] and summary.retriable_failures == 1
    assert psa.sent == Counter() and retry.statuses(operations) == {"k0": "unknown"}
