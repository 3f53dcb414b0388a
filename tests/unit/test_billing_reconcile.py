"""The billing planners, with every expectation worked out by hand in the test.

Prices are per seat per month; a line's total is quantity × price × days billed / days in the period
(days inclusive), as the distributors invoice it (docs/vendors/microsoft-csp.md §3.1).
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from channelsync.reconcile import billing_autotask as at
from channelsync.reconcile import billing_connectwise as cw
from channelsync.reconcile.billing_timeline import Segment, effect, timelines

_ids = iter(range(1, 10_000))


def line(kind: str, start: str, end: str, quantity: float, price: float, *, ratio: float = 1.0,
         sku: str = "M365BP", cost: float | None = None) -> SimpleNamespace:
    cost = price * 0.8 if cost is None else cost
    return SimpleNamespace(
        source_key=f"crayon:4401:S1:{next(_ids)}", sku=sku, product_name="Microsoft 365 Business Premium",
        charge_type=kind, charge_start=start, charge_end=end, quantity=quantity, billable_ratio=ratio,
        unit_price=price, unit_cost=cost, price_total=round(quantity * price * ratio, 2),
        cost_total=round(quantity * cost * ratio, 2), billing_cycle="Monthly",
    )


def d(text: str) -> date:
    return date.fromisoformat(text)


# June 2026 has 30 days; 06/08–06/30 is 23 days.
JUNE_SEAT_INCREASE = [
    line("cycleCharge", "2026-06-01", "2026-06-30", 15, 20.0),
    line("addQuantity", "2026-06-08", "2026-06-30", 15, 20.0, ratio=-23 / 30),  # reversal of the old 15
    line("addQuantity", "2026-06-08", "2026-06-30", 35, 20.0, ratio=23 / 30),  # the new total
]


def test_pair_style_seat_increase_gives_two_stretches() -> None:
    (timeline,), charges = timelines(JUNE_SEAT_INCREASE)
    assert charges == []
    assert timeline.segments == [
        Segment(d("2026-06-01"), d("2026-06-07"), 15, 20.0, 16.0),
        Segment(d("2026-06-08"), d("2026-06-30"), 35, 20.0, 16.0),
    ]


def test_delta_style_signed_quantity_removes_seats() -> None:
    # Pax8: one prorate line for the signed difference: 10 seats, then −4 from 06/21 (10 days of 30).
    rows = [line("cycleCharge", "2026-06-01", "2026-06-30", 10, 9.0),
            line("removeQuantity", "2026-06-21", "2026-06-30", -4, 9.0, ratio=10 / 30)]
    assert effect(rows[1]) == -4
    (timeline,), _ = timelines(rows)
    assert [(s.start.day, s.end.day, s.units) for s in timeline.segments] == [(1, 20, 10), (21, 30, 6)]


def test_cancel_and_usage_and_credit() -> None:
    rows = [
        line("cycleCharge", "2026-08-01", "2026-08-31", 10, 6.0, sku="EXO1"),
        line("cancelImmediate", "2026-08-20", "2026-08-31", 10, 6.0, ratio=-12 / 31, sku="EXO1"),
        line("usage", "2026-08-01", "2026-08-31", 1, 1234.56, sku="AZURE"),
        line("usage", "2026-08-01", "2026-08-31", 1, 65.44, sku="AZURE"),
        line("customerCredit", "2026-07-01", "2026-07-31", 2, 6.0, ratio=-1.0, sku="EXO1"),
    ]
    found, charges = timelines(rows)
    by_sku = {t.sku: t for t in found}
    assert [(s.start.day, s.end.day, s.units) for s in by_sku["EXO1"].segments] == [(1, 19, 10), (20, 31, 0)]
    assert by_sku["AZURE"].usage
    assert by_sku["AZURE"].segments == [Segment(d("2026-08-01"), d("2026-08-31"), 1.0, 1300.0, 1040.0)]
    (credit,) = charges
    assert (credit.quantity, credit.unit_price, credit.unit_cost, credit.on) == (2, -6.0, -4.8, d("2026-07-01"))


def test_mid_period_price_change_is_a_new_price_from_that_day() -> None:
    # 35 seats at 20.00 for July; from 07/16 (16 of 31 days) at 22.00: reversal at the old, charge at the new.
    rows = [line("cycleCharge", "2026-07-01", "2026-07-31", 35, 20.0),
            line("renew", "2026-07-16", "2026-07-31", 35, 20.0, ratio=-16 / 31),
            line("renew", "2026-07-16", "2026-07-31", 35, 22.0, ratio=16 / 31)]
    (timeline,), _ = timelines(rows)
    assert [(s.start.day, s.units, s.unit_price) for s in timeline.segments] == [(1, 35, 20.0), (16, 35, 22.0)]


def test_autotask_first_invoice_then_rerun_makes_no_write() -> None:
    (timeline,), _ = timelines(JUNE_SEAT_INCREASE)
    planned = at.adjustments(timeline.segments, [])
    assert [(a.effective, a.unit_change, a.unit_price, a.units_before, a.units_after) for a in planned] == [
        (d("2026-06-01"), 15, 20.0, 0, 15), (d("2026-06-08"), 20, 20.0, 15, 35)]
    # The PSA as Autotask leaves it: monthly rows over the contract, split on 06/08.
    rows = [at.UnitRow(d("2026-06-01"), d("2026-06-30"), 0, None, None),
            at.UnitRow(d("2026-07-01"), d("2026-07-31"), 0, None, None)]
    for adjustment in planned:
        rows = at.apply(rows, adjustment)
    assert [(r.start.isoformat(), r.units) for r in rows] == [
        ("2026-06-01", 15), ("2026-06-08", 35), ("2026-07-01", 35)]
    assert at.adjustments(timeline.segments, rows) == []
    # Implied June amount: 15 × 20 × 7/30 + 35 × 20 × 23/30 = 70 + 536.67 = 606.67; the invoice's lines
    # total 300 − 230 + 536.67 = 606.67.
    assert at.implied_amount(rows, d("2026-06-01"), d("2026-06-30")) == 606.67
    assert round(sum(x.price_total for x in JUNE_SEAT_INCREASE), 2) == 606.67


def test_autotask_hand_edit_is_overwritten_by_the_invoice() -> None:
    (timeline,), _ = timelines(JUNE_SEAT_INCREASE)
    rows = [at.UnitRow(d("2026-06-01"), d("2026-06-07"), 15, 20.0, 16.0),
            at.UnitRow(d("2026-06-08"), d("2026-06-30"), 40, 20.0, 16.0)]  # a person typed 40
    (fix,) = at.adjustments(timeline.segments, rows)
    assert (fix.effective, fix.unit_change, fix.units_before, fix.units_after) == (d("2026-06-08"), -5, 40, 35)


def test_autotask_price_change_is_one_zero_unit_adjustment() -> None:
    rows = [at.UnitRow(d("2026-07-01"), d("2026-07-31"), 35, 20.0, 16.0)]
    segments = [Segment(d("2026-07-01"), d("2026-07-15"), 35, 20.0, 16.0),
                Segment(d("2026-07-16"), d("2026-07-31"), 35, 22.0, 17.6)]
    (change,) = at.adjustments(segments, rows)
    assert (change.effective, change.unit_change, change.unit_price, change.unit_cost) == (
        d("2026-07-16"), 0, 22.0, 17.6)


def test_connectwise_first_invoice_next_month_unchanged_then_price_change() -> None:
    (timeline,), _ = timelines(JUNE_SEAT_INCREASE)
    planned = cw.changes(timeline.segments, [])
    assert [(c.op, c.start.isoformat(), c.end, c.units) for c in planned] == [
        ("add", "2026-06-01", d("2026-06-07"), 15), ("add", "2026-06-08", None, 35)]
    current = [cw.Addition("A1", d("2026-06-01"), d("2026-06-07"), 15, 20.0, 16.0),
               cw.Addition("A2", d("2026-06-08"), None, 35, 20.0, 16.0)]
    assert cw.changes(timeline.segments, current) == []
    july = [Segment(d("2026-07-01"), d("2026-07-31"), 35, 20.0, 16.0)]
    assert cw.changes(july, current) == []  # last month's seats continue: nothing to write
    july_price = [Segment(d("2026-07-01"), d("2026-07-15"), 35, 20.0, 16.0),
                  Segment(d("2026-07-16"), d("2026-07-31"), 35, 22.0, 17.6)]
    end_a2, add = cw.changes(july_price, current)
    assert (end_a2.op, end_a2.record_id, end_a2.changes) == ("update_addition", "A2", {"end": d("2026-07-15")})
    assert (add.op, add.start, add.end, add.units, add.unit_price) == ("add", d("2026-07-16"), None, 35, 22.0)


def test_connectwise_cancellation_ends_the_addition() -> None:
    current = [cw.Addition("A7", d("2026-06-01"), None, 10, 6.0, 4.8)]
    august = [Segment(d("2026-08-01"), d("2026-08-19"), 10, 6.0, 4.8),
              Segment(d("2026-08-20"), d("2026-08-31"), 0, 6.0, 4.8)]
    (end,) = cw.changes(august, current)
    assert (end.record_id, end.changes, end.before) == ("A7", {"end": d("2026-08-19")}, {"end": None})


def _plan(**kwargs: object) -> object:
    from channelsync.templates.subscription_billing import planning

    lines = [SimpleNamespace(**vars(line("cycleCharge", "2026-12-01", "2026-12-31", 10, 20.0)),
                             invoice_id="S12", customer_id="C1")]
    units = [{"service_id": "7", "record_id": "1", "start": "2026-12-01", "end": "2026-12-31", "units": 0.0,
              "unit_price": 20.0, "unit_cost": 16.0},
             {"service_id": "7", "record_id": "2", "start": "2027-01-01", "end": "2027-01-31", "units": 5.0,
              "unit_price": 20.0, "unit_cost": 16.0}]
    return planning.plan_customer(
        "crayon:4401:C1", lines, psa_system="autotask",
        contract=planning.Contract("99", d("2026-01-01"), d("2027-12-31")), units=units,
        services={"M365BP": planning.Service("7", "PC_M365BP")}, period=(d("2026-12-01"), d("2026-12-31")),
        **kwargs)


def test_billing_in_advance_sets_the_next_period_from_the_latest_invoice() -> None:
    import json

    def changes(plan: object) -> list[tuple[str, float]]:
        return [(json.loads(o["fields"])["effective"], json.loads(o["fields"])["unit_change"])
                for o in plan.operations]  # type: ignore[attr-defined]

    # January holds 5 seats (set earlier); December's invoice says 10. An adjustment adds from its date on,
    # so December's +10 makes January 15; in advance, January is then set to December's 10 (−5).
    assert changes(_plan(billing_in_advance=False)) == [("2026-12-01", 10)]
    assert changes(_plan(billing_in_advance=True)) == [("2026-12-01", 10), ("2027-01-01", -5)]


def test_a_contract_that_ends_before_the_invoice_fails_the_customer_alone() -> None:
    from channelsync.templates.subscription_billing import planning

    plan = _plan()
    assert plan.items == []  # type: ignore[attr-defined]
    short = planning.plan_customer(
        "crayon:4401:C1", [SimpleNamespace(**vars(line("cycleCharge", "2026-12-01", "2026-12-31", 10, 20.0)),
                                           invoice_id="S12", customer_id="C1")],
        psa_system="autotask", contract=planning.Contract("99", d("2027-01-01"), d("2027-12-31")), units=[],
        services={"M365BP": planning.Service("7", "PC_M365BP")}, period=(d("2026-12-01"), d("2026-12-31")))
    (item,) = short.items
    assert item["error_code"] == "BILLING_CONTRACT_DATES" and short.operations == []
