"""submit_orders and order_status end to end on the sandbox, both PSAs: valid POs reach TD SYNNEX once with
their order numbers written back; invalid ones are marked with every reason and never sent; a PO a person
sets back is a conflict, not a second order; partial, split and full shipments, back-orders and
cancellations reach the PSA line by line; invoice numbers reach the PO when TD SYNNEX invoices; an
unchanged poll writes nothing, and a PO shipped and invoiced in full is not asked about again. Counts
come from TD SYNNEX's own order store and the PSA emulators' request logs."""

from __future__ import annotations

import pytest

from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.e2e.conftest import RunTemplate, last_seq, writes
from tests.e2e.orders_probe import INTEGRATIONS, OrderDesk, tds_duplicate_submissions, tds_invoice_numbers, tds_orders

SUBMITTED = {"demo-autotask": "Submitted", "demo-connectwise": "Submitted"}
INVALID = {"demo-autotask": "New", "demo-connectwise": "TDS Error"}
SUBMIT = {"demo-autotask": "Submitted", "demo-connectwise": "Send to TDS"}


def po_posts(control: SandboxControl, since: int = 0) -> int:
    return sum(1 for r in control.requests("tdsynnex", since=since)
               if r["method"] == "POST" and r["path"].rstrip("/").endswith("SynnexXML/PO"))


@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_valid_pos_submitted_once_invalid_ones_marked_with_every_reason_and_resets_are_conflicts(
    sandbox: SandboxControl, sandbox_server: SandboxServer, run_template: RunTemplate, integration: str
) -> None:
    desk = OrderDesk(sandbox, integration, sandbox_server.url)
    (sku1, price1), (sku2, price2) = desk.skus(2)
    valid = desk.make_valid(3)
    every_reason = desk.make([(sku1, 1, price1 + 5.0), (sku2, 2, price2)],
                             ship_to={"state": "Colorado", "name": "Zoë’s Dental"})
    unknown_sku = desk.make([("99999991", 1, 10.0)])
    empty = desk.make([])

    first = run_template("submit_orders", integration)
    assert first["status"] == "warning", first
    assert first["counts"].get("submitted") == 3 and first["counts"].get("marked_invalid") == 3, first
    assert first["counts"].get("quarantined") == 3, first

    orders = tds_orders(sandbox)
    assert sorted(orders) == sorted(valid)  # the invalid ones never reached TD SYNNEX
    for number in valid:
        po = desk.order(number)
        assert po["status"] == SUBMITTED[integration]
        assert po["order_number"] == orders[number]["items"][0]["orderNumber"]
        assert "Submitted to TD SYNNEX: sales order" in po["note"]
    marked = desk.order(every_reason)
    assert marked["status"] == INVALID[integration]
    for reason in ("unit cost differs", f"{price1 + 5.0:.2f} vs TD SYNNEX {price1:.2f}", "state 'Colorado'",
                   "characters the TD SYNNEX XML PO does not accept", "ë", "’"):
        assert reason in marked["note"], (reason, marked["note"])
    assert "unknown to TD SYNNEX" in desk.order(unknown_sku)["note"]
    assert "PO has no lines" in desk.order(empty)["note"]

    # A rerun sends nothing: every PO is either submitted (with its number) or out of the submit state.
    seq = last_seq(sandbox)
    again = run_template("submit_orders", integration)
    assert again["status"] == "no_change", again
    assert po_posts(sandbox, since=seq) == 0

    # A person sets a submitted PO back (ConnectWise: its status; Autotask, whose submit and submitted
    # states are one: its order number): a conflict, never a second order.
    reset = valid[0]
    if integration == "demo-connectwise":
        desk.set_status(reset, SUBMIT[integration])
    else:
        desk.clear_order_number(reset)
    seq = last_seq(sandbox)
    third = run_template("submit_orders", integration)
    assert third["status"] == "warning" and third["counts"].get("conflict") == 1, third
    assert po_posts(sandbox, since=seq) == 0
    assert len(tds_orders(sandbox)) == 3 and not tds_duplicate_submissions(sandbox)


@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_shipments_backorders_and_cancellations_reach_the_psa_line_by_line(
    sandbox: SandboxControl, sandbox_server: SandboxServer, run_template: RunTemplate, integration: str
) -> None:
    system = "autotask" if integration == "demo-autotask" else "connectwise"
    desk = OrderDesk(sandbox, integration, sandbox_server.url)
    (sku1, price1), (sku2, price2) = desk.skus(2)
    number = desk.make([(sku1, 3, price1), (sku2, 2, price2)])
    cancelled = desk.make([(sku1, 1, price1)])
    assert run_template("submit_orders", integration)["counts"].get("submitted") == 2

    # Partial shipment of line 1, back-order of line 2 with an ETA, the second PO cancelled.
    desk.move(number, "ship", lines=[1], quantity=1, tracking="1ZPART0001", serials=["SN-A"])
    desk.move(number, "backorder", lines=[2], eta="2026-12-20")
    desk.move(cancelled, "cancel")
    polled = run_template("order_status", integration)
    assert polled["status"] == "success" and polled["counts"].get("updated") == 2, polled
    line1, line2 = desk.lines(number)
    assert "shipped 1 of 3" in line1["note"] and "1ZPART0001" in line1["note"] and "SN-A" in line1["note"]
    assert "back-ordered 2, ETA 2026-12-20" in line2["note"] and str(line2["eta"]).startswith("2026-12-20")
    po = desk.order(number)
    assert "partially shipped" in po["note"] and "1ZPART0001" in po["note"]
    assert po["status"] == ("Partially Shipped" if system == "connectwise" else "Submitted")
    assert desk.order(cancelled)["status"] == "Cancelled"
    if system == "connectwise":
        assert line1["tracking"] == "1ZPART0001" and line2["backordered"] is True

    # Nothing moved: the poll writes nothing.
    seq = last_seq(sandbox)
    quiet = run_template("order_status", integration)
    assert quiet["status"] == "no_change", quiet
    assert writes(sandbox, system, since=seq) == []

    # A split shipment of line 1 (another package, another warehouse), then the rest of everything.
    desk.move(number, "ship", lines=[1], quantity=1, tracking="1ZSPLIT002", warehouse="4")
    run_template("order_status", integration)
    line1 = desk.lines(number)[0]
    assert "shipped 2 of 3" in line1["note"] and "1ZPART0001" in line1["note"] and "1ZSPLIT002" in line1["note"]
    desk.move(number, "ship", tracking="1ZREST0003")
    done = run_template("order_status", integration)
    assert done["counts"].get("updated") == 1, done
    line1, line2 = desk.lines(number)
    assert "shipped 3 of 3" in line1["note"] and "shipped 2 of 2" in line2["note"] and "1ZREST0003" in line2["note"]
    po = desk.order(number)
    assert "TD SYNNEX: shipped" in po["note"] and str(po["ship_date"] or "")[:4] >= "2025"
    if system == "connectwise":
        assert po["status"] == "Shipped" and "1ZPART0001" in (po["tracking"] or "")


@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_invoice_numbers_reach_the_po_when_changed_and_a_complete_po_is_left_alone(
    sandbox: SandboxControl, sandbox_server: SandboxServer, run_template: RunTemplate, integration: str
) -> None:
    system = "autotask" if integration == "demo-autotask" else "connectwise"
    desk = OrderDesk(sandbox, integration, sandbox_server.url)
    (sku1, price1), (sku2, price2) = desk.skus(2)
    number = desk.make([(sku1, 2, price1), (sku2, 1, price2)])
    assert run_template("submit_orders", integration)["counts"].get("submitted") == 1

    # Part of line 1 ships and is invoiced at once.
    desk.move(number, "ship", lines=[1], quantity=1, tracking="1ZINV0001", serials=["SN-I1"], invoice=True)
    assert run_template("order_status", integration)["counts"].get("updated") == 1
    (first,) = tds_invoice_numbers(sandbox, number)
    po = desk.order(number)
    assert po["invoice_number"] == first and f"invoice {first} of " in po["note"]
    assert f"- invoice {first}: 1" in desk.lines(number)[0]["note"]
    invoice_date = sandbox.record("tdsynnex", "po_orders", number)["invoices"][0]["invoiceDate"]
    if system == "connectwise":
        assert str(po["invoice_date"]).startswith(invoice_date)

    # Nothing moved: no write.
    seq = last_seq(sandbox)
    assert run_template("order_status", integration)["status"] == "no_change"
    assert writes(sandbox, system, since=seq) == []

    # The rest ships, not invoiced yet: the shipment is written, the invoice number stays; then TD SYNNEX
    # invoices it and only then does the second number reach the PO.
    desk.move(number, "ship", tracking="1ZINV0002")
    assert run_template("order_status", integration)["counts"].get("updated") == 1
    assert desk.order(number)["invoice_number"] == first
    desk.move(number, "invoice")
    _, second = tds_invoice_numbers(sandbox, number)
    assert run_template("order_status", integration)["counts"].get("updated") == 1
    po = desk.order(number)
    assert po["invoice_number"] == f"{first},{second}" and f"invoice {second} of " in po["note"]
    line1, line2 = desk.lines(number)
    assert f"- invoice {first}: 1" in line1["note"] and f"- invoice {second}: 1" in line1["note"]
    assert f"- invoice {second}: 1" in line2["note"]

    # Shipped and invoiced in full: the next poll asks TD SYNNEX nothing about it and writes nothing.
    seq = last_seq(sandbox)
    assert run_template("order_status", integration)["status"] == "no_change"
    assert writes(sandbox, system, since=seq) == []
    asked = [r["path"] for r in sandbox.requests("tdsynnex", since=seq)]
    assert not any(p.endswith(("POStatus", "invoice/query")) for p in asked), asked
    read = [r["path"] for r in sandbox.requests(system, since=seq)]
    assert not any(p.endswith("/lineitems") or "PurchaseOrderItems" in p for p in read), read  # nor its lines


def test_an_invoice_query_that_fails_holds_back_only_its_po(
    sandbox: SandboxControl, sandbox_server: SandboxServer, run_template: RunTemplate
) -> None:
    integration = "demo-connectwise"
    desk = OrderDesk(sandbox, integration, sandbox_server.url)
    (sku, price), = desk.skus(1)
    shipped, waiting = desk.make([(sku, 1, price)]), desk.make([(sku, 1, price)])
    assert run_template("submit_orders", integration)["counts"].get("submitted") == 2
    desk.move(shipped, "ship", tracking="1ZFAIL001", invoice=True)
    desk.move(waiting, "backorder", eta="2026-12-24")
    # The invoice service refuses us (its own host: e.g. this source IP is not registered there).
    sandbox.set_faults({"kind": "status", "status": 403, "system": "tdsynnex", "method": "POST",
                        "path": "invoice/query$"})
    polled = run_template("order_status", integration)
    assert polled["counts"].get("quarantined") == 1 and polled["counts"].get("updated") == 1, polled
    assert desk.order(shipped)["status"] == "Submitted" and not desk.order(shipped)["invoice_number"]
    assert str(desk.lines(waiting)[0]["eta"]).startswith("2026-12-24")
    sandbox.clear_faults()
    again = run_template("order_status", integration)
    assert again["counts"].get("updated") == 1, again
    po = desk.order(shipped)
    assert po["status"] == "Shipped" and po["invoice_number"] == tds_invoice_numbers(sandbox, shipped)[0]


def test_a_status_changed_by_hand_is_a_conflict_not_overwritten(
    sandbox: SandboxControl, sandbox_server: SandboxServer, run_template: RunTemplate
) -> None:
    integration = "demo-connectwise"
    desk = OrderDesk(sandbox, integration, sandbox_server.url)
    (sku, price), = desk.skus(1)
    number = desk.make([(sku, 2, price)])
    run_template("submit_orders", integration)
    desk.move(number, "ship", quantity=1, tracking="1ZHAND0001")
    assert run_template("order_status", integration)["counts"].get("updated") == 1
    desk.set_status(number, "Submitted")  # a person, while TD SYNNEX says partially shipped
    seq = last_seq(sandbox)
    polled = run_template("order_status", integration)
    assert polled["counts"].get("conflict") == 1, polled
    assert writes(sandbox, "connectwise", since=seq) == [] and desk.order(number)["status"] == "Submitted"


def test_a_po_waiting_in_the_submit_state_too_long_is_a_warning_and_an_alert(
    sandbox: SandboxControl, sandbox_server: SandboxServer, run_template: RunTemplate, state_store: str
) -> None:
    from sqlalchemy import select

    from channelsync.state.db import session_scope
    from channelsync.state.models import AlertLog

    integration = "demo-autotask"
    desk = OrderDesk(sandbox, integration, sandbox_server.url)
    old, fresh = desk.make_valid(2)
    sandbox.edit_record("autotask", "PurchaseOrders", desk.psa_id(old), {"submitDateTime": "2026-01-01T08:00:00Z"})
    # TD SYNNEX's PO service is down: nothing is accepted this run.
    sandbox.set_faults({"kind": "status", "status": 503, "system": "tdsynnex", "method": "POST",
                        "path": "SynnexXML/PO$"})
    summary = run_template("submit_orders", integration, stuck_after_hours=4)
    assert summary["counts"].get("stuck") == 1, summary
    assert not tds_orders(sandbox)
    with session_scope(state_store) as session:
        alerts = [(a.error_code, a.subject) for a in session.scalars(select(AlertLog))]
    assert [code for code, _ in alerts] == ["ORDER_STUCK"] and old in alerts[0][1] and fresh not in alerts[0][1]
