"""The shared invoice generator, property-style: many seeds, random changes within a month (seats,
cancellations, price lists, subscription prices, credits, one-time purchases), several months.

For every line: ratio = days billed / days in period (6 dp, half-up, inclusive days), total = quantity ×
unit price × ratio (2 dp, half-up per line); for every invoice: total = Σ line totals. Both the
Microsoft ("pair") and Pax8 ("delta") styles, and the net effect of a seat change equals the added
seats prorated.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from channelsync.sandbox.billing import (
    BillingBook,
    Change,
    Invoice,
    add_months,
    billing_mix,
    month_end,
    one_time_offer,
    usage_amount,
)
from channelsync.sandbox.world import World

CENT, STEP = Decimal("0.01"), Decimal("0.000001")


def _book(world: World, style: str, start: date) -> BillingBook:
    book = BillingBook(world.offers, style=style, next_month=start,
                       usage=lambda key, month: usage_amount(world.seed, key, month))
    for seat in world.seat_subscriptions:
        book.add_existing(seat.subscription_id, f"C{seat.customer_index}", seat.offer, seat.quantity, seat.start)
    return book


def _random_changes(book: BillingBook, rng: random.Random, world: World, count: int) -> None:
    month = book.next_month
    for _ in range(count):
        day = month.replace(day=rng.randint(1, month_end(month).day))
        live = [s for s in book.subscriptions.values() if s.cancelled_on is None and s.start <= day]
        kind = rng.choice(["quantity", "quantity", "quantity", "cancel", "price", "subscribe", "retire", "subprice",
                           "credit", "onetime"])
        try:
            if kind == "quantity" and live:
                book.add_change(Change(day, "quantity", rng.choice(live).key, rng.randint(1, 60)))
            elif kind == "cancel" and live:
                book.add_change(Change(day, "cancel", rng.choice(live).key))
            elif kind == "price":
                offer = rng.choice(world.offers)
                book.add_change(Change(day, "price", offer_id=offer.nce_id,
                                       unit_price=Decimal(rng.randint(100, 5000)) / 100))
            elif kind == "subscribe":
                offer = rng.choice(world.offers)
                book.add_change(Change(day, "subscribe", f"new-{rng.getrandbits(32)}", rng.randint(1, 30),
                                       offer.nce_id, customer_key="CX"))
            elif kind == "retire":
                book.add_change(Change(day, "retire", offer_id=rng.choice(world.offers).nce_id))
            elif kind == "subprice" and live:
                book.add_change(Change(day, "subprice", rng.choice(live).key,
                                       unit_price=Decimal(rng.randint(100, 5000)) / 100))
            elif kind == "credit" and live:
                sub = rng.choice(live)
                last = add_months(month, -1)
                book.add_change(Change(day, "credit", sub.key, rng.randint(1, 5), period_start=last.replace(day=5),
                                       period_end=last.replace(day=20)))
            elif kind == "onetime":
                offer = one_time_offer({"unit_price": rng.randint(1, 900)})
                book.add_one_time_offer(offer)
                book.add_change(Change(day, "onetime", f"once-{rng.getrandbits(32)}", rng.randint(1, 4), offer.nce_id,
                                       customer_key="CX"))
        except ValueError:
            pass  # a refused change (e.g. an already cancelled subscription) is part of the property too


def _assert_adds_up(invoice: Invoice) -> None:
    total = Decimal("0.00")
    for line in invoice.lines:
        assert line.charge_start <= line.charge_end
        assert line.days_billed == (line.charge_end - line.charge_start).days + 1
        expected_ratio = (Decimal(line.days_billed) / Decimal(line.days_in_period)).quantize(STEP, ROUND_HALF_UP)
        assert abs(line.billable_ratio) == expected_ratio
        assert line.sub_total == (line.quantity * line.unit_price * line.billable_ratio).quantize(CENT, ROUND_HALF_UP)
        assert line.sub_total_rrp == (line.quantity * line.unit_rrp * line.billable_ratio).quantize(CENT, ROUND_HALF_UP)
        assert line.sub_total == line.sub_total.quantize(CENT)
        total += line.sub_total
    assert invoice.total == total


@pytest.mark.parametrize("style", ["pair", "delta"])
def test_every_invoice_adds_up_over_many_seeds(style: str) -> None:
    months = 0
    for seed in range(40):
        world = World("tiny", seed)
        book = _book(world, style, date(2026, 1, 1))
        rng = random.Random(seed)
        for _ in range(4):
            _random_changes(book, rng, world, rng.randint(0, 12))
            _assert_adds_up(book.publish())
            months += 1
    assert months == 160


def test_seat_increase_is_a_reversal_and_a_charge_like_microsoft() -> None:
    world = World("tiny", 1)
    book = _book(world, "pair", date(2026, 3, 1))
    sub = next(s for s in book.subscriptions.values()
               if s.offer.billing_cycle == "Monthly" and s.offer.term == "P1Y" and s.start.month != 3)
    old = sub.quantity
    book.add_change(Change(date(2026, 3, 15), "quantity", sub.key, old + 20))
    lines = [ln for ln in book.publish().lines if ln.subscription_key == sub.key]
    assert [ln.charge_type for ln in lines] == ["cycleCharge", "addQuantity", "addQuantity"]
    reversal, charge = lines[1], lines[2]
    assert (reversal.quantity, charge.quantity) == (old, old + 20)
    assert reversal.billable_ratio == -charge.billable_ratio == -Decimal("0.548387")  # 17 of 31 days
    assert reversal.sub_total == -(old * sub.unit_price * Decimal("0.548387")).quantize(CENT, ROUND_HALF_UP)


def test_delta_style_prorates_only_the_difference() -> None:
    world = World("tiny", 1)
    book = _book(world, "delta", date(2026, 2, 1))
    sub = next(s for s in book.subscriptions.values() if s.offer.billing_cycle == "Monthly")
    book.add_change(Change(date(2026, 2, 15), "quantity", sub.key, sub.quantity + 3))
    book.add_change(Change(date(2026, 2, 21), "cancel", sub.key))
    lines = [ln for ln in book.publish().lines if ln.subscription_key == sub.key]
    assert [(ln.charge_type, ln.quantity, ln.days_billed, ln.days_in_period) for ln in lines[1:]] == [
        ("addQuantity", 3, 14, 28), ("cancelImmediate", -sub.quantity, 8, 28)]
    # Cancelled: nothing more the month after.
    assert not [ln for ln in book.publish().lines if ln.subscription_key == sub.key]


def test_price_change_waits_for_the_renewal_but_new_purchases_pay_it() -> None:
    world = World("tiny", 3)
    book = _book(world, "pair", date(2026, 5, 1))
    monthly = next(o for o in world.offers if o.term == "P1M")
    sub = next((s for s in book.subscriptions.values() if s.offer == monthly), None)
    book.add_change(Change(date(2026, 5, 10), "price", offer_id=monthly.nce_id, unit_price=Decimal("99.00")))
    book.add_change(Change(date(2026, 5, 11), "subscribe", "fresh", 2, monthly.nce_id, customer_key="CX"))
    may = book.publish()
    fresh = next(ln for ln in may.lines if ln.subscription_key == "fresh")
    assert fresh.unit_price == Decimal("99.00") and fresh.charge_type == "new"
    if sub is not None:  # a P1M subscription renews every month: the new price from June
        assert next(ln for ln in may.lines if ln.subscription_key == sub.key).unit_price != Decimal("99.00")
    june = book.publish()
    assert next(ln for ln in june.lines if ln.subscription_key == "fresh").unit_price == Decimal("99.00")


def test_changes_in_invoiced_months_are_refused() -> None:
    book = _book(World("tiny", 1), "pair", date(2026, 1, 1))
    book.publish()
    with pytest.raises(ValueError, match="already invoiced"):
        book.add_change(Change(date(2026, 1, 20), "quantity", next(iter(book.subscriptions)), 4))


@pytest.mark.parametrize("style", ["pair", "delta"])
def test_credit_gives_back_what_the_past_stretch_was_invoiced_at(style: str) -> None:
    world = World("tiny", 2)
    book = _book(world, style, date(2026, 4, 1))
    sub = next(s for s in book.subscriptions.values() if s.offer.billing_cycle == "Monthly" and s.offer.term == "P1Y")
    april_price = sub.unit_price
    book.publish()  # April invoiced
    book.add_change(Change(date(2026, 5, 10), "subprice", sub.key, unit_price=april_price + 5))  # May: a new price
    book.add_change(Change(date(2026, 5, 2), "credit", sub.key, 2, period_start=date(2026, 4, 21),
                           period_end=date(2026, 4, 30)))
    (credit,) = [ln for ln in book.publish().lines if ln.charge_type == "customerCredit"]
    # 10 of April's 30 days, 2 seats, at April's price (not the May one), negative in both styles.
    assert (credit.quantity, credit.unit_price, credit.billable_ratio) == (2, april_price, Decimal("-0.333333"))
    assert credit.sub_total == (2 * april_price * Decimal("-0.333333")).quantize(CENT, ROUND_HALF_UP)
    assert (credit.charge_start, credit.charge_end, credit.days_billed, credit.days_in_period) == (
        date(2026, 4, 21), date(2026, 4, 30), 10, 30)


@pytest.mark.parametrize("style", ["pair", "delta"])
def test_subscription_price_change_pairs_and_sticks(style: str) -> None:
    world = World("tiny", 2)
    book = _book(world, style, date(2026, 6, 1))
    sub = next(s for s in book.subscriptions.values() if s.offer.billing_cycle == "Monthly" and s.offer.term == "P1M")
    old, quantity = sub.unit_price, sub.quantity
    book.add_change(Change(date(2026, 6, 11), "subprice", sub.key, unit_price=Decimal("9.99")))
    lines = [ln for ln in book.publish().lines if ln.subscription_key == sub.key]
    rest = Decimal("0.666667")  # June 11th-30th: 20 of 30 days
    signed = [(-quantity, rest), (quantity, rest)] if style == "delta" else [(quantity, -rest), (quantity, rest)]
    assert [(ln.charge_type, ln.quantity, ln.unit_price, ln.billable_ratio) for ln in lines] == [
        ("renew", quantity, old, Decimal("1.000000")),
        ("cycleCharge", signed[0][0], old, signed[0][1]),
        ("cycleCharge", signed[1][0], Decimal("9.99"), signed[1][1]),
    ]
    assert lines[1].reference_id == lines[2].reference_id is not None
    # A P1M subscription renews every month: it keeps its own price instead of the price list's.
    (july,) = [ln for ln in book.publish().lines if ln.subscription_key == sub.key]
    assert (july.charge_type, july.unit_price) == ("renew", Decimal("9.99"))


def test_one_time_purchase_and_usage_amount() -> None:
    world = World("tiny", 2)
    book = _book(world, "pair", date(2026, 2, 1))
    offer = one_time_offer({"name": "Perpetual thing", "unit_price": "12.34", "rrp": "15"})
    book.add_one_time_offer(offer)
    book.add_change(Change(date(2026, 2, 14), "onetime", "once-1", 3, offer.nce_id, customer_key="C1"))
    azure = next(o for o in world.offers if o.usage_based)
    book.add_change(Change(date(2026, 2, 1), "subscribe", "az-1", 1, azure.nce_id, customer_key="C1"))
    book.add_change(Change(date(2026, 2, 9), "usage", "az-1", unit_price=Decimal("77.70")))
    lines = {ln.subscription_key: ln for ln in book.publish().lines}
    once = lines["once-1"]
    assert (once.charge_type, once.charge_start, once.charge_end, once.quantity, once.sub_total, once.sub_total_rrp) \
        == ("oneTime", date(2026, 2, 14), date(2026, 2, 14), 3, Decimal("37.02"), Decimal("45.00"))
    assert (lines["az-1"].charge_type, lines["az-1"].sub_total) == ("usage", Decimal("77.70"))
    assert "once-1" not in {ln.subscription_key for ln in book.publish().lines}
    with pytest.raises(ValueError, match="one-time purchase"):
        book.add_change(Change(date(2026, 4, 2), "quantity", "once-1", 5))


def test_seeded_mix_always_has_annual_renewal_and_azure() -> None:
    for seed in range(30):
        world = World("tiny", seed)
        for distributor in ("crayon", "pax8"):
            mine = [c for c in world.customers if c.billing_distributor == distributor]
            seats = [s for s in world.seat_subscriptions if s.customer_index in {c.index for c in mine}]
            mixed = billing_mix(seats, world.offers, mine, first_month=date(2026, 9, 1),
                                renew_month=date(2026, 12, 1), seed=seed, tag=distributor)
            assert mixed[:len(seats)] == seats  # the world's own subscriptions first, unchanged
            if not mine:
                continue
            assert any(s.offer.billing_cycle == "Annual" and s.start.month == 12 and s.start.year < 2026
                       for s in mixed)
            assert any(s.offer.usage_based and s.start < date(2026, 9, 1) for s in mixed)
