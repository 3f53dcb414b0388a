"""The pure parts of submit_orders and order_status: checks (every reason at once), decisions, and the
status plan (split and partial shipments line by line, invoices; an unchanged order plans nothing, also
when a value is longer than its PSA field)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from channelsync.canonical.orders import (
    PsaLine,
    PsaOrder,
    fingerprint_complete,
    fit_list,
    note_block,
    status_fingerprint,
    with_note_block,
)
from channelsync.clients.tdsynnex.xmlmodels import Invoice, InvoiceLine, Package, PoStatus, PoStatusItem
from channelsync.templates.order_status import planning as status_planning
from channelsync.templates.submit_orders import planning

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
SHIP_TO = {"name": "Contoso", "address1": "1 Main St", "address2": "", "city": "Denver", "state": "CO",
           "zip_code": "80202", "country": "US", "contact_name": "", "phone": "", "email": ""}
PNA = {"100": planning.Pna("Active", 10.0), "200": planning.Pna("Discontinued", None),
       "300": planning.Pna("Active", 20.0)}


def order(lines: list[PsaLine] | None = None, *, status: str = "Send to TDS", number: str | None = None,
          ship_to: dict[str, str] | None = None, since: str | None = None) -> PsaOrder:
    return PsaOrder(psa_id="7", number="PO7", status=status, since=since, ship_to={**SHIP_TO, **(ship_to or {})},
                    lines=lines if lines is not None else [line(1, "100", 2, 10.0)],
                    tracked={"status": status, "order_number": number})


def line(number: int, sku: str | None, quantity: float, cost: float | None) -> PsaLine:
    return PsaLine(psa_id=str(number), line_number=number, product_id="p", sku=sku, description="", quantity=quantity,
                   unit_cost=cost, tracked={})


def checks(o: PsaOrder, po: str = "PO7") -> dict[str, str | None]:
    return planning.order_checks(o, po, PNA, planning.Tolerance(0.01, 0.0))


def test_a_good_po_passes_every_check() -> None:
    assert {k: v for k, v in checks(order()).items() if v} == {}


def test_every_reason_of_a_bad_po_is_reported_at_once() -> None:
    bad = order([line(1, "100", 2.5, 12.0), line(2, "200", 1, 5.0), line(3, None, 0, 1.0), line(4, "999", 1, 1.0)],
                ship_to={"city": "", "state": "Colorado", "zip_code": "8020", "name": "Zoë’s Dental"})
    found = checks(bad, po="PO-1234567890123456789")
    reasons = planning.reasons(found)
    assert len(reasons) == 6, reasons  # all but "no lines"
    text = "\n".join(reasons)
    for part in ("longer than 20", "line 2: SKU 200 is discontinued", "line 3: the product has no TD SYNNEX SKU",
                 "line 4: SKU 999 is unknown", "line 1 (SKU 100): 12.00 vs TD SYNNEX 10.00", "line 1: 2.5",
                 "line 3: 0", "city missing", "state 'Colorado' is not a 2-letter code",
                 "postal code '8020' is not valid for US", "ë", "’"):
        assert part in text, (part, text)
    assert planning.reasons(checks(order([]))) == ["PO has no lines: no lines"]


def test_tolerance_absolute_or_share() -> None:
    assert planning.Tolerance(0.01, 0).allows(10.01, 10.0) and not planning.Tolerance(0.01, 0).allows(10.02, 10.0)
    assert planning.Tolerance(0.01, 5).allows(10.4, 10.0)


def decide(o: PsaOrder, **kwargs: object) -> planning.Decision:
    arguments = {"valid": True, "ledger_status": None, "written_before": False, "submit_status": "Send to TDS",
                 "submitted_status": "Submitted", "stuck_after_hours": 4.0, "now": NOW, **kwargs}
    return planning.decide(o, **arguments)  # type: ignore[arg-type]


def test_decisions() -> None:
    assert decide(order()).op == "submit"
    assert decide(order(), valid=False).op == "mark_invalid"
    # accepted by TD SYNNEX, never written back (a crash in between): submit → the loader links it
    assert decide(order(), ledger_status="applied").op == "submit"
    # submitted and written back, then set back by a person: a conflict, never a second order
    assert decide(order(), ledger_status="applied", written_before=True).op == "conflict"
    assert decide(order(number="123"), ledger_status="applied", valid=False).op == "conflict"
    # Autotask: submit and submitted are one status; a PO carrying its number is done
    assert decide(order(status="Submitted", number="123"), submit_status="Submitted").op == "unchanged"


def test_a_po_waiting_too_long_is_stuck_with_the_reason() -> None:
    old = (NOW - timedelta(hours=6)).isoformat()
    stuck = decide(order(since=old), ledger_status="unknown")
    assert stuck.op == "submit" and stuck.stuck and "6.0 h" in stuck.stuck and "no answer" in stuck.stuck
    assert decide(order(since=(NOW - timedelta(hours=1)).isoformat())).stuck is None


def test_note_blocks_keep_a_persons_text() -> None:
    memo = with_note_block("Call before delivery", "Submitted.")
    assert memo.startswith("Call before delivery") and note_block(memo) == "Submitted."
    assert note_block(with_note_block(memo, "Shipped.")) == "Shipped." and "Submitted." not in with_note_block(
        memo, "Shipped.")


def item(number: str, code: str, *, ordered: int, shipped: int = 0, order_type: str = "SO", eta: str = "",
         packages: tuple[Package, ...] = ()) -> PoStatusItem:
    return PoStatusItem(line_number=number, code=code, order_number="16351210", order_type=order_type,
                        order_quantity=ordered, unit_price=Decimal("10"), sku="100", mfg_pn="M", product_name="P",
                        ship_quantity=shipped, ship_from_warehouse="3", ship_method="FG",
                        ship_method_description="FedEx Ground", ship_datetime="2026-12-01T10:00:00" if shipped else "",
                        eta_date=eta, packages=packages)


def test_split_partial_shipment_and_backorder_line_by_line_then_nothing_to_write() -> None:
    status = PoStatus(po_number="PO7", code="accepted", items=(
        item("1", "accepted", ordered=3),
        item("1", "shipped", ordered=3, shipped=1, packages=(Package("1ZA", "1", 1, ("S1",)),)),
        item("1", "shipped", ordered=3, shipped=1, packages=(Package("1ZB", "1", 1, ("S2",)),)),
        item("2", "accepted", ordered=2, order_type="BO", eta="2026-12-20"),
    ))
    assert status_planning.state_of(status) == "partially_shipped"
    states = status_planning.line_states(status)
    assert (states[1].shipped, states[1].ordered, states[1].open_quantity) == (2, 3, 1)
    assert states[2].backordered and states[2].eta == "2026-12-20"
    o = PsaOrder(psa_id="7", number="PO7", status="Submitted", since=None, ship_to=SHIP_TO,
                 lines=[line(1, "100", 3, 10.0), line(2, "300", 2, 20.0)],
                 tracked={"status": "Submitted", "order_number": "16351210"})
    fields = ("order_number", "ship_date", "tracking", "serials", "eta", "backordered", "cancelled", "note")
    plan = status_planning.plan_order(o, status, status_map={"partially_shipped": "Partially Shipped"},
                                      order_fields=("status", "order_number", "tracking", "note"), line_fields=fields,
                                      last_written=status_fingerprint("Submitted"))
    assert plan.op == "update" and plan.order["status"] == "Partially Shipped" and plan.order["tracking"] == "1ZA,1ZB"
    first, second = plan.lines
    assert first["changes"]["tracking"] == "1ZA,1ZB" and first["changes"]["serials"] == "S1,S2"
    assert "shipped 2 of 3" in first["changes"]["note"] and "1 still to ship" in first["changes"]["note"]
    assert second["changes"]["backordered"] is True and second["changes"]["eta"] == "2026-12-20"
    # The PSA now shows all of it: nothing to write.
    for psa_line, planned in zip(o.lines, plan.lines, strict=True):
        psa_line.tracked = dict(planned["changes"])
    o.tracked = {**o.tracked, **{k: v for k, v in plan.order.items() if not k.startswith("_")}}
    o.status = "Partially Shipped"
    again = status_planning.plan_order(o, status, status_map={"partially_shipped": "Partially Shipped"},
                                       order_fields=("status", "order_number", "tracking", "note"),
                                       line_fields=fields, last_written=plan.fingerprint)
    assert again.op == "unchanged"
    # A person changes the status: a conflict (unless it is what TD SYNNEX's state maps to anyway).
    o.status = "Submitted"
    assert status_planning.plan_order(o, status, status_map={"partially_shipped": "Partially Shipped"},
                                      order_fields=("status",), line_fields=(), last_written=plan.fingerprint
                                      ).op == "conflict"


def invoice(number: str, day: str, *lines: tuple[str, int]) -> Invoice:
    return Invoice(invoice_number=number, invoice_date=day, order_number="16351210", po_number="PO7",
                   total=Decimal("42.50"), lines=tuple(InvoiceLine(n, q, Decimal("10"), "100") for n, q in lines))


def shipped_order() -> tuple[PsaOrder, PoStatus]:
    status = PoStatus(po_number="PO7", code="shipped", items=(
        item("1", "shipped", ordered=2, shipped=2, packages=(Package("1ZA", "1", 2, ("S1", "S2")),)),))
    o = PsaOrder(psa_id="7", number="PO7", status="Submitted", since=None, ship_to=SHIP_TO,
                 lines=[line(1, "100", 2, 10.0)], tracked={"status": "Submitted", "order_number": "16351210"})
    return o, status


def plan(o: PsaOrder, status: PoStatus, invoices: tuple[Invoice, ...], **kwargs: object
         ) -> status_planning.StatusPlan:
    return status_planning.plan_order(
        o, status, status_map={"shipped": "Submitted"},
        order_fields=("status", "order_number", "invoice_number", "invoice_date", "note"), line_fields=("note",),
        last_written=status_fingerprint("Submitted"), invoices=invoices, **kwargs)  # type: ignore[arg-type]


def show(o: PsaOrder, planned: status_planning.StatusPlan) -> None:
    """The PSA after the update was written."""
    o.tracked = {**o.tracked, **{k: v for k, v in planned.order.items() if not k.startswith("_")}}
    for psa_line, change in zip(o.lines, planned.lines, strict=False):
        psa_line.tracked = {**psa_line.tracked, **change["changes"]}


def test_invoices_reach_the_order_and_its_lines_and_a_po_invoiced_in_full_is_complete() -> None:
    o, status = shipped_order()
    o.tracked["invoice_number"] = "AP-778"  # typed in by accounts payable: not cleared while TD SYNNEX has none
    first = plan(o, status, ())
    assert "invoice_number" not in first.order and not fingerprint_complete(first.fingerprint)  # shipped, unbilled
    show(o, first)
    part = plan(o, status, (invoice("91000001", "2026-12-01", ("1", 1)),))
    assert part.order["invoice_number"] == "91000001" and part.order["invoice_date"] == "2026-12-01"
    assert "invoice 91000001 of 2026-12-01: 42.50 (line 1: 1)" in part.order["note"]
    assert "- invoice 91000001: 1" in part.lines[0]["changes"]["note"]
    assert not fingerprint_complete(part.fingerprint)  # one of two units billed
    show(o, part)
    both = (invoice("91000002", "2026-12-03", ("1", 1)), invoice("91000001", "2026-12-01", ("1", 1)))
    full = plan(o, status, both)
    assert full.order["invoice_number"] == "91000001,91000002" and full.order["invoice_date"] == "2026-12-03"
    assert fingerprint_complete(full.fingerprint) and full.fingerprint.startswith(status_fingerprint("Submitted"))
    show(o, full)
    again = plan(o, status, both)
    assert again.op == "unchanged" and fingerprint_complete(again.fingerprint)
    # A complete fingerprint still tells a status changed by hand.
    o.status = "Cancelled"
    assert status_planning.plan_order(o, status, status_map={"shipped": "Submitted"}, order_fields=("status",),
                                      line_fields=(), last_written=full.fingerprint, invoices=both).op == "conflict"
    # Invoices not followed: shipped in full is complete.
    o2, status2 = shipped_order()
    assert fingerprint_complete(plan(o2, status2, (), invoices_followed=False).fingerprint)


def test_values_longer_than_their_field_are_compared_as_stored_so_an_unchanged_poll_writes_nothing() -> None:
    assert fit_list("111111111,222222222,333333333", 20) == "111111111,222222222"
    assert fit_list("1" * 30, 20) == "1" * 20 and fit_list(None, 20) is None and fit_list("a,b", None) == "a,b"
    o, status = shipped_order()
    many = tuple(invoice(f"9100{n:04d}", "2026-12-01", ("1", 1 if n < 2 else 0)) for n in range(12))
    limits = {"invoice_number": 50, "note": 300}
    first = plan(o, status, many, order_limits=limits, line_limits={"note": 120})
    assert len(first.order["invoice_number"]) <= 50 and first.order["invoice_number"].startswith("91000000,")
    assert first.order["note"].endswith("…")
    assert len(with_note_block(first.order["_memo"], first.order["note"], limit=300)) <= 300
    show(o, first)
    assert plan(o, status, many, order_limits=limits, line_limits={"note": 120}).op == "unchanged"
