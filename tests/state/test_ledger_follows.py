"""An update of a record another live run is still creating waits for that create (``Operation.follows``).

A create written in parts (an Autotask product, then its TD SYNNEX vendor row) is visible before it is complete;
an update planned by another integration from that half-made record (ensure the vendor row) would write the part
again if sent at once: CI caught two integrations on one Autotask database leaving three products with two
vendor rows. Held until the create is marked, the update finds the record whole.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from channelsync.runs.loader import Operation, apply_operations
from channelsync.state import db, repository
from channelsync.state.ledger import Ledger, Target
from tests.state.test_loader import ScriptedPsa

TENANT = Target("testpsa", "tenant-1")
CREATE_KEY = "product:create:SKU-1:new"


def _create() -> Operation:
    return Operation(key=CREATE_KEY, op="create", source_key="SKU-1", target_id=None, fields={"sku": "SKU-1"},
                     scope="tenant")


def _update(follows: str | None = CREATE_KEY) -> Operation:
    return Operation(key="product:update:SKU-1:7:abc", op="update", source_key="SKU-1", target_id="7",
                     fields={"sku": "SKU-1"}, changed_fields=["vendor"], follows=follows)


def _ledger(url: str, integration: str, run_key: str) -> Ledger:
    run_id = repository.start_run(url, integration=integration, template="catalog_sync", run_key=run_key,
                                  preview=False)
    return Ledger(url, integration=integration, template="catalog_sync", run_id=run_id, target=TENANT,
                  entity_type="product")


@pytest.fixture()
def url(state_url: str) -> str:
    db.upgrade(state_url)
    return state_url


def test_an_update_waits_while_another_live_run_holds_the_create_it_follows(url: str) -> None:
    creator = _ledger(url, "a", "r1")
    creator.claim([_create()])  # A is creating SKU-1 (product written, vendor row not yet)
    updater = _ledger(url, "b", "r2")
    assert updater.claim([_update()])[_update().key].state == "held"
    assert updater.claim([_update(follows=None)])[_update().key].state == "send"  # nothing followed: not held

    creator.mark_applied_many([(_create(), "7", None)])
    assert updater.claim([_update()])[_update().key].state == "send"


def test_the_held_update_is_sent_once_the_create_is_marked(url: str) -> None:
    creator = _ledger(url, "a", "r1")
    creator.claim([_create()])
    marked_at: list[float] = []

    def finish_create() -> None:
        time.sleep(0.3)
        marked_at.append(time.monotonic())
        creator.mark_applied_many([(_create(), "7", None)])

    finisher = threading.Thread(target=finish_create)
    finisher.start()
    psa = ScriptedPsa()
    summary = apply_operations([_update()], psa, _ledger(url, "b", "r2"), concurrency=1, wait_for_others_s=10)
    sent_at = time.monotonic()
    finisher.join()
    assert [o.outcome for o in summary.outcomes] == ["updated"]
    assert psa.sent == Counter({"SKU-1": 1})
    assert marked_at and sent_at >= marked_at[0]


def test_a_create_of_a_finished_run_or_of_the_same_run_holds_nothing(url: str) -> None:
    creator = _ledger(url, "a", "r1")
    creator.claim([_create()])
    same_run = Ledger(url, integration="a", template="catalog_sync", run_id=creator.run_id, target=TENANT,
                      entity_type="product")
    assert same_run.claim([_update()])[_update().key].state == "send"

    repository.finish_run(url, creator.run_id, status="failure", counts={})  # it died with the create unsettled
    other = _ledger(url, "b", "r2")
    assert other.claim([_update()])[_update().key].state == "send"
