"""Desired seats → ConnectWise agreement additions (pure).

A ConnectWise addition is an absolute record: a product on an agreement with a quantity, unit price and
cost from ``effectiveDate`` to ``cancelledDate`` (open-ended when not cancelled); the agreement prorates
additions by those dates (docs/vendors/connectwise.md). So each stretch of constant seats is one
addition, and the plan matches the invoice's stretches with the additions there:

- a stretch starting the day an addition starts is that addition: its quantity, price, cost and end
  are corrected where they differ (an update sets absolute values, so a lost answer is simply resent);
- the first stretch of the window may be carried by an addition that started before it with the same
  values (last month's seats continuing): it is kept, at most given its new end;
- a stretch no addition carries is a new addition (never posted twice: its key is the agreement,
  product and start, and a lost answer is resolved by reading the agreement's additions);
- an addition overlapping the window that no stretch claims ends the day before the window (or, when
  it starts inside the window, is set to 0 and ended the day it starts): the invoice wins.

The last stretch is left open-ended, as a subscription continues until the next invoice says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from channelsync.reconcile.billing_timeline import Segment

ONE_DAY = timedelta(days=1)
PRICE_TOLERANCE = 0.005  # ConnectWise money: 2 decimals


@dataclass(frozen=True)
class Addition:
    record_id: str
    start: date
    end: date | None
    units: float
    unit_price: float | None
    unit_cost: float | None


@dataclass
class AdditionChange:
    op: str  # add | update_addition
    start: date
    end: date | None
    units: float
    unit_price: float | None
    unit_cost: float | None
    record_id: str | None = None  # update_addition
    changes: dict[str, Any] = field(default_factory=dict)  # update_addition: the fields to set
    before: dict[str, Any] = field(default_factory=dict)


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= PRICE_TOLERANCE


def _values_match(addition: Addition, segment: Segment) -> bool:
    return (abs(addition.units - segment.units) < 1e-9 and _same(addition.unit_price, segment.unit_price)
            and _same(addition.unit_cost, segment.unit_cost))


def _overlaps(addition: Addition, start: date, end: date) -> bool:
    return addition.start <= end and (addition.end is None or addition.end >= start)


def changes(segments: list[Segment], current: list[Addition]) -> list[AdditionChange]:
    """The writes that make ``current`` carry ``segments`` over the segments' days."""
    if not segments:
        return []
    window_start, window_end = segments[0].start, segments[-1].end
    stretches = [s for s in segments if s.units > 0]
    used: set[str] = set()
    planned: list[AdditionChange] = []
    for index, stretch in enumerate(stretches):
        last = stretch is segments[-1]
        want_end = None if last else stretch.end
        match = next((a for a in current if a.start == stretch.start and a.record_id not in used), None)
        if match is None and index == 0 and stretch.start == window_start:
            match = next((a for a in current if a.start < window_start and a.record_id not in used
                          and _overlaps(a, window_start, window_start) and _values_match(a, stretch)), None)
        if match is None:
            planned.append(AdditionChange("add", stretch.start, want_end, stretch.units, stretch.unit_price,
                                          stretch.unit_cost))
            continue
        used.add(match.record_id)
        update: dict[str, Any] = {}
        if abs(match.units - stretch.units) >= 1e-9:
            update["quantity"] = stretch.units
        if not _same(match.unit_price, stretch.unit_price):
            update["unit_price"] = stretch.unit_price
        if not _same(match.unit_cost, stretch.unit_cost):
            update["unit_cost"] = stretch.unit_cost
        if match.end != want_end:
            update["end"] = want_end
        if update:
            planned.append(_update(match, update, stretch.start, want_end, stretch))
    for addition in current:
        if addition.record_id in used or not _overlaps(addition, window_start, window_end):
            continue
        if addition.start < window_start:
            planned.append(_update(addition, {"end": window_start - ONE_DAY}, addition.start,
                                   window_start - ONE_DAY, None))
        elif addition.units or addition.end != addition.start:
            planned.append(_update(addition, {"quantity": 0, "end": addition.start}, addition.start,
                                   addition.start, None))
    return planned


def _update(addition: Addition, update: dict[str, Any], start: date, end: date | None,
            stretch: Segment | None) -> AdditionChange:
    before = {"quantity": addition.units, "unit_price": addition.unit_price, "unit_cost": addition.unit_cost,
              "end": addition.end.isoformat() if addition.end else None}
    return AdditionChange(
        "update_addition", start, end,
        units=float(update.get("quantity", addition.units)),
        unit_price=update.get("unit_price", addition.unit_price) if stretch else addition.unit_price,
        unit_cost=update.get("unit_cost", addition.unit_cost) if stretch else addition.unit_cost,
        record_id=addition.record_id, changes=update,
        before={name: before[name] for name in update},
    )
