"""subscription_billing with two customers' load tasks at once, as a PSA pool of 8 slots runs them (each takes
``load.concurrency``, 3): the result is the one-at-a-time result, Autotask never sees more than 3 calls in
flight per entity, and each task's calls are its own (the run's count is the sandbox's).

Expected seats and prices are the scenario's own (a new customer with N seats from the 1st at the list's
retail price), not the code's.
"""

from __future__ import annotations

from datetime import date

from channelsync.sandbox.control_client import SandboxControl
from channelsync.templates.registry import TEMPLATES
from tests.e2e import billing_world as world
from tests.e2e.conftest import RunTemplate, last_seq, writes
from tests.e2e.test_subscription_billing import MONTHLY

SEATS = [3, 5, 7, 11, 13, 17]


def test_two_customers_load_at_once_post_exactly_what_one_at_a_time_would(
        sandbox: SandboxControl, run_template: RunTemplate, state_store: str) -> None:
    assert TEMPLATES["subscription_billing"].load_tasks_at_once({}, 8) == 2  # the demo pool's admission
    assert run_template("service_catalog_sync", "demo-autotask")["status"] in ("success", "warning")
    service = world.service_ids(sandbox, "autotask")[f"PC_{MONTHLY}"]
    price = world.crayon_rrp(sandbox, MONTHLY)
    customers = [world.new_customer(sandbox, state_store, "demo-autotask", name=f"Overlap {n} Test", offer=MONTHLY,
                                    quantity=seats, day=1, contract_start="2026-12-01", contract_end="2027-11-30")
                 for n, seats in enumerate(SEATS)]
    world.publish(sandbox, "crayon")
    # Latency long enough that the second task's reads certainly go out while the first one's are answered.
    sandbox.set_faults({"kind": "latency", "system": "autotask", "latency_ms": 100})
    sandbox.reset_concurrency()
    seq = last_seq(sandbox)

    result = run_template("subscription_billing", "demo-autotask", load_tasks=2)

    assert result["status"] == "warning", result  # the sandbox's own customers are not mapped
    for customer, seats in zip(customers, SEATS, strict=True):
        assert world.autotask_units(sandbox, customer.contract_id, service, date(2027, 1, 1)) == [
            ("2026-12-01", "2026-12-31", seats, price)], customer
    posted = writes(sandbox, "autotask", since=seq)
    assert len(posted) == len(SEATS) and all(w["path"].endswith("ContractServiceAdjustments") for w in posted)
    calls = sandbox.requests("autotask", since=seq)
    first_write = next(n for n, e in enumerate(calls) if e["path"].endswith("ContractServiceAdjustments"))
    contract_reads = [e for e in calls[:first_write] if e["path"].endswith("ContractServiceUnits/query")]
    assert len(contract_reads) >= 2, "the two load tasks did not overlap"
    assert max(sandbox.concurrency()["autotask"].values()) <= 3
    assert result["api_calls"]["autotask"] == len(calls), (result["api_calls"], len(calls))

    # The same invoice again, two at a time: nothing is posted twice.
    seq = last_seq(sandbox)
    again = run_template("subscription_billing", "demo-autotask", load_tasks=2)
    assert again["status"] == "warning", again
    assert writes(sandbox, "autotask", since=seq) == []
