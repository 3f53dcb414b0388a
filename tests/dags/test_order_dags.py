"""The order DAGs: submit_orders loads one mapped task instance per PO (a bad PO never blocks the others and
is rerun alone); order_status is one load; both take the PSA's pool."""

from __future__ import annotations


def test_submit_orders_maps_its_load_per_po_and_order_status_does_not(dagbag) -> None:  # type: ignore[no-untyped-def]
    submit = dagbag.dags["demo-autotask__submit_orders"]
    assert {t.task_id for t in submit.tasks} == {"extract", "validate", "reconcile", "partitions", "load", "report"}
    assert type(submit.get_task("load")).__name__.endswith("MappedOperator")
    assert submit.get_task("load").pool == "autotask_api"
    # A PO's load has one PSA call in flight (its write-back), so it takes one slot, not load.concurrency.
    assert submit.get_task("load").partial_kwargs.get("pool_slots", 1) == 1
    status = dagbag.dags["demo-connectwise__order_status"]
    assert [t.task_id for t in status.topological_sort()] == ["extract", "validate", "reconcile", "load", "report"]
    assert status.get_task("load").pool == "connectwise_api"
