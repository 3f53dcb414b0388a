"""Invoice lines → the seats a customer had, service by service, day by day (pure).

What a line means for seat counts is decided here and nowhere else (docs/vendors/microsoft-csp.md §3.1):

- a seat line (new, cycleCharge, renew, addQuantity, removeQuantity, cancelImmediate) says "this many
  seats, over these days": its **effect** is ``|quantity|`` with the sign of the line's amount, so a
  reversal (Microsoft's pair style: positive quantity, negative ratio) takes seats away and Pax8's
  delta lines (signed quantity) add or remove the difference. Summing the effects of the lines that
  cover a day gives that day's seats: 15 seats for June, then on 06/08 a reversal of 15 and a charge
  of 35 for 06/08–06/30 gives 15 until 06/07 and 35 from 06/08;
- a day's **price** (and cost) is the price of the latest-starting charge covering it, so a price
  change in the middle of a period (reversal at the old price, charge at the new one from that day)
  becomes a new price from that day: the PSA prorates it, a person does not;
- a usage line (Azure plan) is one unit at the month's amount: its price is the line's total;
- credits and one-off lines are not seats; they become contract charges (``charges``);
- several subscriptions of one SKU for one customer add up (one PSA service per SKU).

The result is a list of :class:`Segment` per (customer, SKU): constant units and price over a date
range. The PSA-specific planners (``billing_autotask.py``, ``billing_connectwise.py``) turn the
difference between these and the PSA's units into writes.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from channelsync.canonical.billing import CREDIT, ONE_TIME, SEAT_CHARGE_TYPES, USAGE

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Segment:
    start: date
    end: date  # inclusive
    units: float
    unit_price: float | None  # None: no charge covers these days (units 0)
    unit_cost: float | None


@dataclass
class ServiceTimeline:
    """The desired seats of one SKU for one customer over the days the invoice covers."""

    sku: str
    segments: list[Segment]
    line_keys: list[str] = field(default_factory=list)  # the invoice lines it comes from
    billing_cycle: str = "Monthly"
    usage: bool = False

    @property
    def start(self) -> date:
        return self.segments[0].start

    @property
    def end(self) -> date:
        return self.segments[-1].end


@dataclass(frozen=True)
class Charge:
    """A credit or one-off line, posted as a contract charge (not seats)."""

    line_key: str
    sku: str
    name: str
    on: date
    quantity: float
    unit_price: float  # retail per unit, signed (a credit is negative)
    unit_cost: float


def effect(line: Any) -> float:
    """The seats a line adds (+) or takes away (−) over its days."""
    quantity = abs(float(line.quantity))
    for amount in (line.price_total, line.cost_total):
        if amount is not None and amount == amount and float(amount) != 0:
            return quantity if float(amount) > 0 else -quantity
    ratio = float(line.billable_ratio) if line.billable_ratio == line.billable_ratio else 1.0
    signed = float(line.quantity) * (1.0 if ratio >= 0 else -1.0)
    return signed


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def timelines(lines: Iterable[Any]) -> tuple[list[ServiceTimeline], list[Charge]]:
    """One customer's validated invoice lines (INVOICE_LINE rows) → timelines per SKU and charges."""
    seats: dict[str, list[Any]] = defaultdict(list)
    usage: dict[str, list[Any]] = defaultdict(list)
    charges: list[Charge] = []
    for line in lines:
        kind = str(line.charge_type)
        if kind in SEAT_CHARGE_TYPES:
            seats[str(line.sku)].append(line)
        elif kind == USAGE:
            usage[str(line.sku)].append(line)
        elif kind in (CREDIT, ONE_TIME):
            charges.append(_charge(line))
    result = [_seat_timeline(sku, rows) for sku, rows in sorted(seats.items())]
    result += [_usage_timeline(sku, rows) for sku, rows in sorted(usage.items())]
    return result, charges


def _charge(line: Any) -> Charge:
    quantity = abs(float(line.quantity)) or 1.0
    sign = -1.0 if float(line.price_total) < 0 or float(line.cost_total) < 0 else 1.0
    return Charge(line_key=str(line.source_key), sku=str(line.sku), name=str(line.product_name),
                  on=_day(line.charge_start), quantity=quantity,
                  unit_price=round(sign * abs(float(line.price_total)) / quantity, 4),
                  unit_cost=round(sign * abs(float(line.cost_total)) / quantity, 4))


def _seat_timeline(sku: str, rows: list[Any]) -> ServiceTimeline:
    spans = [(_day(r.charge_start), _day(r.charge_end), effect(r), r) for r in rows]
    cuts = sorted({start for start, _, _, _ in spans} | {end + ONE_DAY for _, end, _, _ in spans})
    segments: list[Segment] = []
    for start, following in itertools.pairwise(cuts):
        covering = [(s, e, eff, r) for s, e, eff, r in spans if s <= start and e >= start]
        units = round(sum(eff for _, _, eff, _ in covering), 6)
        charging = [(s, r) for s, _, eff, r in covering if eff > 0]
        price: float | None = None
        cost: float | None = None
        if charging:
            latest = max(charging, key=lambda item: (item[0], str(item[1].source_key)))[1]
            price, cost = float(latest.unit_price), float(latest.unit_cost)
        _append(segments, Segment(start, following - ONE_DAY, max(units, 0.0), price, cost))
    cycle = str(rows[0].billing_cycle) if rows[0].billing_cycle is not None else "Monthly"
    return ServiceTimeline(sku=sku, segments=segments, line_keys=sorted(str(r.source_key) for r in rows),
                           billing_cycle=cycle)


def _usage_timeline(sku: str, rows: list[Any]) -> ServiceTimeline:
    by_period: dict[tuple[date, date], list[Any]] = defaultdict(list)
    for row in rows:
        by_period[(_day(row.charge_start), _day(row.charge_end))].append(row)
    segments: list[Segment] = []
    for (start, end), period_rows in sorted(by_period.items()):
        price = round(sum(float(r.price_total) for r in period_rows), 2)
        cost = round(sum(float(r.cost_total) for r in period_rows), 2)
        _append(segments, Segment(start, end, 1.0, price, cost))
    return ServiceTimeline(sku=sku, segments=segments, line_keys=sorted(str(r.source_key) for r in rows),
                           billing_cycle="None", usage=True)


def _append(segments: list[Segment], segment: Segment) -> None:
    """Add ``segment``, merging it into the previous one when it continues it unchanged."""
    if segments:
        last = segments[-1]
        same = (last.units == segment.units and last.unit_price == segment.unit_price
                and last.unit_cost == segment.unit_cost and last.end + ONE_DAY == segment.start)
        if same:
            segments[-1] = Segment(last.start, segment.end, last.units, last.unit_price, last.unit_cost)
            return
    segments.append(segment)


def zero_usage(sku: str, period_start: date, period_end: date) -> ServiceTimeline:
    """A usage service with no usage line this month: zero units for the month (the per-integration switch
    ``zero_usage_without_lines``, as PRISM Connect has)."""
    return ServiceTimeline(sku=sku, segments=[Segment(period_start, period_end, 0.0, None, None)],
                           billing_cycle="None", usage=True)
