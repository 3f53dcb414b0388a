"""Desired seats → Autotask ContractServiceAdjustments (pure).

An Autotask adjustment changes a contract service's units by ``unitChange`` and sets its price and cost
from ``effectiveDate`` onwards (docs/vendors/autotask.md §A.7); the API keeps one ContractServiceUnits
row per billing period, split at each adjustment. So the plan walks the days where either side changes
level, compares the PSA's units and price there with the invoice's, and emits an adjustment only where
they differ — simulating each adjustment on a copy of the PSA's rows, as Autotask would apply it, so
the next comparison sees the PSA as it will be. Run on a PSA already in the desired state, it emits
nothing: a rerun of the same invoice costs no write.

Each adjustment carries the units before and after at its effective date: the key of the write is made
from them (a lost answer is resolved by reading the units at that date, never by posting again), and a
second integration planning the same change from the same state gets the same key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from channelsync.reconcile.billing_timeline import Segment

ONE_DAY = timedelta(days=1)
PRICE_TOLERANCE = 0.00005  # Autotask stores money with 4 decimals


@dataclass
class UnitRow:
    """One ContractServiceUnits row (or the simulation of one)."""

    start: date
    end: date | None
    units: float
    unit_price: float | None
    unit_cost: float | None


@dataclass(frozen=True)
class Adjustment:
    effective: date
    unit_change: float
    unit_price: float | None
    unit_cost: float | None
    units_before: float
    units_after: float
    price_before: float | None


def level(rows: list[UnitRow], day: date) -> UnitRow:
    for row in rows:
        if row.start <= day and (row.end is None or day <= row.end):
            return row
    return UnitRow(day, day, 0.0, None, None)


def _differs(a: float | None, b: float | None) -> bool:
    if b is None:
        return False  # the invoice says nothing about the price of days without a charge
    return a is None or abs(a - b) > PRICE_TOLERANCE


def apply(rows: list[UnitRow], adjustment: Adjustment) -> list[UnitRow]:
    """``rows`` as Autotask leaves them after ``adjustment`` (split at the date, change from it onwards)."""
    result: list[UnitRow] = []
    day = adjustment.effective
    for row in rows:
        if row.start < day and (row.end is None or day <= row.end):
            result.append(UnitRow(row.start, day - ONE_DAY, row.units, row.unit_price, row.unit_cost))
            row = UnitRow(day, row.end, row.units, row.unit_price, row.unit_cost)
        if row.start >= day:
            row = UnitRow(row.start, row.end, max(0.0, row.units + adjustment.unit_change),
                          adjustment.unit_price if adjustment.unit_price is not None else row.unit_price,
                          adjustment.unit_cost if adjustment.unit_cost is not None else row.unit_cost)
        result.append(row)
    if not any(r.start <= day and (r.end is None or day <= r.end) for r in result):
        # No row covers the day (a service not on the contract yet): Autotask creates it from the date.
        result.append(UnitRow(day, None, max(0.0, adjustment.unit_change), adjustment.unit_price,
                              adjustment.unit_cost))
    return sorted(result, key=lambda r: r.start)


def adjustments(segments: list[Segment], current: list[UnitRow]) -> list[Adjustment]:
    """The adjustments that bring ``current`` to ``segments`` over the segments' days."""
    if not segments:
        return []
    window_start, window_end = segments[0].start, segments[-1].end
    days = {s.start for s in segments} | {r.start for r in current if window_start <= r.start <= window_end}
    simulated = sorted(current, key=lambda r: r.start)
    planned: list[Adjustment] = []
    for day in sorted(days):
        want = next(s for s in segments if s.start <= day <= s.end)
        have = level(simulated, day)
        units_differ = abs(have.units - want.units) > 1e-9
        price_differs = _differs(have.unit_price, want.unit_price) or _differs(have.unit_cost, want.unit_cost)
        if not (units_differ or price_differs):
            continue
        adjustment = Adjustment(
            effective=day, unit_change=round(want.units - have.units, 6),
            unit_price=want.unit_price, unit_cost=want.unit_cost,
            units_before=have.units, units_after=want.units, price_before=have.unit_price,
        )
        planned.append(adjustment)
        simulated = apply(simulated, adjustment)
    return planned


def implied_amount(rows: list[UnitRow], period_start: date, period_end: date) -> float:
    """What the PSA bills for one monthly period from ``rows``: units × price × the share of the period
    each stretch covers (Autotask prorates by days)."""
    days_in_period = (period_end - period_start).days + 1
    total = 0.0
    for row in rows:
        start = max(row.start, period_start)
        end = min(row.end or period_end, period_end)
        if start > end or not row.unit_price:
            continue
        total += row.units * row.unit_price * ((end - start).days + 1) / days_in_period
    return round(total, 2)
