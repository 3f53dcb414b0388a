"""subscription_billing when the Autotask budget guard stops a run: the customers it could not read are
deferred (the run is a Warning, nothing failed), and the next run, an hour later, posts them exactly once."""

from __future__ import annotations

from datetime import date

from channelsync.sandbox.control_client import SandboxControl
from channelsync.state import repository
from tests.e2e import billing_world as world
from tests.e2e.conftest import RunTemplate, last_seq, writes

MONTHLY = "CFQ7TTC0LDPB:0001:P1M:Monthly"
SHARE = 5_000  # the guard's share (threshold_share 0.5) of Autotask's default hourly threshold of 10,000
ROOM = 12  # calls left in the share: the run's services read and about two customers, not four


def test_a_spent_budget_defers_the_remaining_customers(sandbox: SandboxControl, run_template: RunTemplate,
                                                       state_store: str) -> None:
    assert run_template("service_catalog_sync", "demo-autotask")["status"] in ("success", "warning")
    service = world.service_ids(sandbox, "autotask")[f"PC_{MONTHLY}"]
    customers = [world.new_customer(sandbox, state_store, "demo-autotask", name=f"Budget Customer {n}",
                                    offer=MONTHLY, quantity=n + 2, day=1, contract_start="2026-12-01",
                                    contract_end="2027-11-30") for n in range(4)]
    world.publish(sandbox, "crayon")
    # Other integrations used all but ROOM calls of channelsync's share this hour (no added latency at 50 %).
    sandbox.control("autotask", "limits", json={"reset_counters": True, "add_usage": SHARE - ROOM,
                                                "latency_50_s": 0, "latency_75_s": 0})

    first = run_template("subscription_billing", "demo-autotask")
    assert first["status"] == "warning" and "error" not in first, first  # deferred, not failed
    items = [i for i in repository.list_items(state_store, first["run_id"]) if i["stage"] == "load"]
    deferred = [i for i in items if i["outcome"] == "deferred"]
    assert len(deferred) >= 2 and {i["error_code"] for i in deferred} == {"AUTOTASK_BUDGET_GUARD"}, items
    assert not [i for i in items if i["outcome"] in ("failed", "not_posted")], items
    seen = sandbox.control("autotask", "limits", method="GET")
    assert seen["current_timeframe_request_count"] <= SHARE and seen["refusals"]["threshold"] == 0
    posted = [c for c in customers if _seats(sandbox, c.contract_id, service)]
    assert len(posted) < len(customers)

    # An hour later the rolling window is empty: the next run posts the deferred customers, and only them.
    sandbox.advance_clock(seconds=3601)
    seq = last_seq(sandbox)
    second = run_template("subscription_billing", "demo-autotask")
    assert "error" not in second and not second["counts"].get("deferred"), second
    assert len(writes(sandbox, "autotask", since=seq)) == len(customers) - len(posted)
    assert [_seats(sandbox, c.contract_id, service) for c in customers] == [[n + 2] for n in range(4)]


def _seats(sandbox: SandboxControl, contract_id: str, service: str) -> list[int]:
    """The seats on December's first day (empty when nothing was posted for the service)."""
    return [units for start, _end, units, _price in world.autotask_units(sandbox, contract_id, service,
                                                                        date(2027, 1, 1))
            if start == "2026-12-01" and units]
