"""Approval decisions in the state store (``sync_approvals``, runs/approval.py), on SQLite and PostgreSQL:
one row per (run, plan digest), asked again for the same plan it is reset, a rejection is the run's held
item, and ``first_runs`` counts only approved real runs of the same integration and template."""

from __future__ import annotations

from datetime import UTC, datetime

from channelsync.runs import approval
from channelsync.state import repository
from channelsync.state.db import upgrade

PLAN = {"run_id": 7, "counts": {"create": 2, "update": 3, "deactivate": 1, "unchanged": 14}, "partitions": []}


def test_decisions_are_kept_per_run_and_plan_and_counted_for_first_runs(state_url: str) -> None:
    url = state_url
    upgrade(url)
    need = approval.Requirement(True, ["mode always"])
    runs = [repository.start_run(url, integration="acme", template="catalog_sync", run_key=f"d/r{n}",
                                 preview=n == 2) for n in range(4)]
    other = repository.start_run(url, integration="other", template="catalog_sync", run_key="d/x", preview=False)
    when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    for run_id, decision in zip([*runs, other], ["approved", "rejected", "approved", "approved", "approved"],
                                strict=True):
        approval.record_request(url, run_id=run_id, integration="other" if run_id == other else "acme",
                                template="catalog_sync", digest="d1", requirement=need, planned=PLAN)
        approval.record_decision(url, run_id=run_id, digest="d1", decision=decision, decided_by="alice",
                                 decided_at=when, comment=None, timeout_hours=4)
    # Approved real runs of acme's catalog_sync: r0 and r3 (r1 rejected, r2 a preview); r3 asking: r0 only.
    assert approval.approved_runs(url, integration="acme", template="catalog_sync", other_than=runs[3]) == 1
    assert approval.approved_runs(url, integration="acme", template="catalog_sync", other_than=-1) == 2
    rejected = approval.find(url, runs[1], "d1")
    assert rejected is not None and rejected["reason"] == (
        "approval: plan rejected by alice at 2026-12-01 09:30:00 UTC; nothing was written")
    assert repository.item_counts(url, runs[1]) == {"plan_rejected": 1}
    assert approval.held(url, runs[1]) == ("APPROVAL_REJECTED", rejected["reason"])
    assert approval.held(url, runs[0]) is None
    # Asked again for the same plan (the gate cleared) and approved this time: no longer held.
    approval.record_request(url, run_id=runs[1], integration="acme", template="catalog_sync", digest="d1",
                            requirement=need, planned=PLAN)
    assert approval.find(url, runs[1], "d1")["decision"] == "pending"  # type: ignore[index]
    approval.record_decision(url, run_id=runs[1], digest="d1", decision="approved", decided_by="bob",
                             decided_at=when, comment="fixed", timeout_hours=4)
    assert repository.item_counts(url, runs[1]) == {} and approval.held(url, runs[1]) is None
    latest = approval.latest(url, runs[1])
    assert latest is not None and latest["decided_by"] == "bob" and latest["reason"].endswith("— fixed")
