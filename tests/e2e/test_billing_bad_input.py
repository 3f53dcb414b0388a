"""Bad invoice lines are quarantined with their reason; the customer's good lines still post, once.

Each bad line is a copy of a real line of the published statement with one thing wrong, stored in the
Crayon emulator as the API would serve it.
"""

from __future__ import annotations

from datetime import date

from channelsync.sandbox.control_client import SandboxControl
from channelsync.state import repository
from tests.e2e import billing_world as world
from tests.e2e.conftest import RunTemplate

MONTHLY = "CFQ7TTC0LDPB:0001:P1M:Monthly"


_variant = world.line_variant


def test_bad_lines_are_quarantined_and_the_rest_posts(sandbox: SandboxControl, run_template: RunTemplate,
                                                      state_store: str) -> None:
    assert run_template("service_catalog_sync", "demo-autotask")["status"] in ("success", "warning")
    service = world.service_ids(sandbox, "autotask")[f"PC_{MONTHLY}"]
    customer = world.new_customer(sandbox, state_store, "demo-autotask", name="Bad Input Test", offer=MONTHLY,
                                  quantity=10, day=1, contract_start="2026-12-01", contract_end="2027-11-30")
    world.publish(sandbox, "crayon")
    (line,) = [r for r in sandbox.records("crayon", "billingrecords")
               if str(r["Subscription"]["Id"]) == customer.subscription_id]
    bad = {
        "retired product": _variant(line, 990001, Product__PartNumber="CFQ7TTC0GONE:0001:P1M:Monthly"),
        "fractional seats": _variant(line, 990002, Quantity=2.5),
        "outside the period": _variant(line, 990003, ChargeStartDate="2026-10-01", ChargeEndDate="2026-10-31"),
        "unknown currency": _variant(line, 990004, Currency="EUR"),
        "duplicate": _variant(line, 990005),
        "unknown charge type": _variant(line, 990006, ChargeType="convert"),
        "negative seats": _variant(line, 990007, Quantity=-3),
    }
    for record in bad.values():
        sandbox.create_record("crayon", "billingrecords", record)

    result = run_template("subscription_billing", "demo-autotask")
    items = {i["source_key"].rsplit(":", 1)[1]: i for i in repository.list_items(state_store, result["run_id"])
             if i["outcome"] == "quarantined"}
    expected = {
        "990001": "product CFQ7TTC0GONE:0001:P1M:Monthly (retired?): add it to subscription_billing's "
                  "service_overrides",
        "990002": "quantity not allowed for this charge type: quantity 2.5 for new",
        "990003": "charge dates outside the invoice's period: charge 2026-10-01 – 2026-10-31",
        "990004": "currency not accepted by this integration: currency EUR (accepted: USD)",
        "990005": "duplicate of an earlier line of the invoice",
        "990006": "charge type not known to channelsync: charge type convert",
        "990007": "quantity not allowed for this charge type: quantity -3.0 for new",
    }
    assert set(items) == set(expected), items
    for line_id, text in expected.items():
        assert text in items[line_id]["error_message"], (line_id, items[line_id]["error_message"])
    # The good line posts its 10 seats, once (the duplicate did not double them).
    assert world.autotask_units(sandbox, customer.contract_id, service, date(2027, 1, 1)) == [
        ("2026-12-01", "2026-12-31", 10, float(line["UnitPriceRrp"]))]
    assert result["status"] == "warning"
