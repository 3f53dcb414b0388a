"""A re-planned attempt settles the claims its plan dropped (subscription_billing after a killed worker)."""

from __future__ import annotations

import pytest

from channelsync.canonical.operation import Operation
from channelsync.state import db, repository
from channelsync.state.ledger import Ledger, Target

TENANT = Target("testpsa", "tenant-1")


def _adjust(customer: str, day: str) -> Operation:
    return Operation(key=f"billing:adjust:{customer}:{day}", op="adjust", source_key=f"{customer}|svc|{day}",
                     target_id="c1", fields={}, fingerprint="", scope="tenant")  # type: ignore[arg-type]


def _ledger(url: str, run_id: int) -> Ledger:
    return Ledger(url, integration="a", template="subscription_billing", run_id=run_id, target=TENANT,
                  entity_type="contract_service_adjustment")


@pytest.fixture()
def url(state_url: str) -> str:
    db.upgrade(state_url)
    return state_url


def test_claims_the_new_plan_dropped_are_superseded_and_read_first_if_planned_again(url: str) -> None:
    run = repository.start_run(url, integration="a", template="subscription_billing", run_key="r1", preview=False)
    other = repository.start_run(url, integration="a", template="subscription_billing", run_key="r2", preview=False)
    landed, still, neighbour = _adjust("cust_1", "2026-12-12"), _adjust("cust_1", "2026-12-20"), _adjust("cust_10",
                                                                                                         "2026-12-12")
    killed = _ledger(url, run)  # the attempt that died: three claims, no answers recorded
    assert {c.state for c in killed.claim([landed, still, neighbour]).values()} == {"send"}
    foreign = _adjust("cust_1", "2026-12-25")
    assert _ledger(url, other).claim([foreign])[foreign.key].state == "send"  # another live run's own claim

    retry = _ledger(url, run)
    # The retry re-planned cust_1 from the PSA: the 12th landed, the 20th is still to do. "cust_1|" must not
    # reach cust_10's claims (a prefix of its key), nor the other run's.
    assert retry.supersede("cust_1|", {still.key}) == 1
    assert retry.statuses([landed, still, neighbour]) == {landed.key: "superseded", still.key: "pending",
                                                          neighbour.key: "pending"}
    assert _ledger(url, other).statuses([foreign]) == {foreign.key: "pending"}
    assert retry.supersede("cust_1|", {still.key}) == 0  # settled once

    # Planned again later (the contract lost the change meanwhile): uncertain, so the target is read first.
    repository.finish_run(url, run, status="warning", counts={})
    later = _ledger(url, repository.start_run(url, integration="a", template="subscription_billing",
                                             run_key="r3", preview=False))
    assert later.claim([landed])[landed.key].state == "uncertain"
