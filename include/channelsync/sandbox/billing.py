"""The invoice generator shared by the Crayon / PRISM and Pax8 emulators (Microsoft CSP seat billing).

One :class:`BillingBook` per emulator holds the subscriptions it bills, the price book and the changes
waiting for the next month; :meth:`BillingBook.publish` turns one calendar month into invoice lines.

Conventions (docs/vendors/microsoft-csp.md §3.1, §3.6; the tests check every one of them):

- **Charge periods.** Monthly-billed subscriptions are charged per calendar month. Annual-billed ones
  are charged per 12-month window starting on the 1st of the subscription's anniversary month.
  Assumption: the sandbox's subscriptions are co-termed to month ends (NCE allows a custom term end
  date for exactly that); Microsoft's anniversary periods follow the same arithmetic with other dates.
- **Days are counted inclusively**: a charge from 06/08 to 06/24 bills 17 days. This is the reading
  of the reference's real rows (1.67 ≈ 3.04 × 17 / 31 for an increase on 06/08 in a 05/25–06/24 period).
- **Billable ratio** = days billed / days in the charge period, rounded half-up to 6 decimals.
- **Line total** = quantity × unit price × billable ratio, rounded half-up to the cent *per line*
  (``ROUND_HALF_UP`` rounds .5 away from zero, so a credit is the exact mirror of its charge).
- **Invoice total** = the exact sum of the line totals (no rounding after summing).
- Seat changes in Microsoft's ("pair") style: a reversal of the old quantity (negative ratio) plus a
  charge for the new quantity over the rest of the period, both ``addQuantity`` / ``removeQuantity``;
  in Pax8's ("delta") style one prorate line for the signed quantity difference. Cancellation credits
  the rest of the period (``cancelImmediate``). Price changes reach a subscription at its next term
  renewal (NCE price lock); new purchases pay the new price at once. Azure usage is one line of
  quantity 1 at the month's consumption amount (ratio 1: usage is measured, not prorated).
- Invoices are for one month, published after it (or early, through the control endpoint): the
  month's recurring charges plus the month's changes. Renewals of retired products continue
  (assumption: the sandbox does not expire subscriptions).
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from channelsync.sandbox.world import CloudOffer

CENT = Decimal("0.01")
RATIO_STEP = Decimal("0.000001")

# Charge types, as in Microsoft's reconciliation files (docs/vendors/microsoft-csp.md §3.1), plus "usage" for
# Azure plan lines.
NEW, CYCLE, RENEW, ADD, REMOVE, CANCEL, USAGE = (
    "new", "cycleCharge", "renew", "addQuantity", "removeQuantity", "cancelImmediate", "usage",
)


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def billable_ratio(days_billed: int, days_in_period: int) -> Decimal:
    return (Decimal(days_billed) / Decimal(days_in_period)).quantize(RATIO_STEP, rounding=ROUND_HALF_UP)


def line_total(quantity: int, unit_price: Decimal, ratio: Decimal) -> Decimal:
    """The one rounding rule: per line, half-up, to the cent."""
    return money(Decimal(quantity) * unit_price * ratio)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class PriceEntry:
    unit_price: Decimal  # partner buy price per seat per month
    rrp: Decimal  # recommended retail per seat per month
    retired_on: date | None = None


@dataclass
class BilledSubscription:
    key: str  # the emulator's subscription id
    customer_key: str
    offer: CloudOffer
    quantity: int
    start: date
    unit_price: Decimal  # locked monthly price until the next term renewal
    unit_rrp: Decimal
    cancelled_on: date | None = None

    @property
    def annual_billing(self) -> bool:
        return self.offer.billing_cycle == "Annual"

    def charge_period(self, day: date) -> tuple[date, date]:
        if not self.annual_billing:
            return month_start(day), month_end(day)
        anchor = date(day.year, self.start.month, 1)
        if anchor > day:
            anchor = date(day.year - 1, self.start.month, 1)
        return anchor, add_months(anchor, 12) - timedelta(days=1)

    def period_price(self, monthly: Decimal) -> Decimal:
        return monthly * 12 if self.annual_billing else monthly


@dataclass(frozen=True)
class Change:
    """One mid-month event. ``kind``: quantity | cancel | price | subscribe | retire."""

    on: date
    kind: str
    subscription_key: str | None = None
    quantity: int | None = None
    offer_id: str | None = None  # NCE id ProductId:SkuId:Term:BillingCycle
    unit_price: Decimal | None = None
    rrp: Decimal | None = None
    customer_key: str | None = None
    seq: int = 0


@dataclass(frozen=True)
class InvoiceLine:
    customer_key: str
    subscription_key: str
    offer: CloudOffer
    charge_type: str
    charge_start: date
    charge_end: date
    quantity: int  # signed in "delta" style
    unit_price: Decimal  # per seat per charge period (annual = 12 months)
    unit_rrp: Decimal
    billable_ratio: Decimal  # signed in "pair" style
    days_billed: int
    days_in_period: int
    sub_total: Decimal
    sub_total_rrp: Decimal


@dataclass(frozen=True)
class Invoice:
    month: date  # first day of the billed month
    lines: tuple[InvoiceLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.sub_total for line in self.lines), Decimal("0.00"))

    @property
    def total_rrp(self) -> Decimal:
        return sum((line.sub_total_rrp for line in self.lines), Decimal("0.00"))


def usage_amount(seed: int, subscription_key: str, month: date) -> Decimal:
    """The month's Azure consumption of one subscription (partner cost), deterministic per seed."""
    rng = random.Random(f"{seed}:usage:{subscription_key}:{month.isoformat()}")
    return money(Decimal(str(round(rng.uniform(35, 1400), 2))))


@dataclass
class BillingBook:
    offers: Iterable[CloudOffer]
    style: str = "pair"  # "pair" (Microsoft / Crayon) or "delta" (Pax8)
    usage: Callable[[str, date], Decimal] = field(default=lambda key, month: Decimal("100.00"))
    next_month: date = field(default_factory=lambda: month_start(date.today()))

    def __post_init__(self) -> None:
        self.offers_by_id: dict[str, CloudOffer] = {o.nce_id: o for o in self.offers}
        self.prices: dict[str, PriceEntry] = {
            o.nce_id: PriceEntry(o.unit_cost, o.rrp) for o in self.offers_by_id.values()
        }
        self.subscriptions: dict[str, BilledSubscription] = {}
        self.pending: list[Change] = []
        self.published: list[Invoice] = []
        self._seq = 0

    # -- building up -------------------------------------------------------------------------
    def add_existing(self, key: str, customer_key: str, offer: CloudOffer, quantity: int, start: date) -> None:
        """A subscription bought before the next unpublished month, or a future purchase."""
        if start >= self.next_month:
            self.add_change(Change(start, "subscribe", key, quantity, offer.nce_id, customer_key=customer_key))
            return
        price = self.prices[offer.nce_id]
        self.subscriptions[key] = BilledSubscription(
            key, customer_key, offer, quantity, start, price.unit_price, price.rrp
        )

    def known(self, key: str) -> bool:
        pending = any(c.kind == "subscribe" and c.subscription_key == key for c in self.pending)
        return key in self.subscriptions or pending

    def start_of(self, key: str) -> date:
        if key in self.subscriptions:
            return self.subscriptions[key].start
        return next(c.on for c in self.pending if c.kind == "subscribe" and c.subscription_key == key)

    def add_change(self, change: Change) -> Change:
        """Validate and queue a change; raises ``ValueError`` with a reason the control API returns."""
        if change.on < self.next_month:
            raise ValueError(f"{change.on} is in a month already invoiced; the next month is {self.next_month:%Y-%m}")
        if change.kind in ("quantity", "cancel"):
            key = change.subscription_key or ""
            if not self.known(key):
                raise ValueError(f"unknown subscription {key!r}")
            if change.on < self.start_of(key):
                raise ValueError(f"subscription {key} starts after {change.on}")
            if any(c.kind == "cancel" and c.subscription_key == key for c in self.pending) or (
                key in self.subscriptions and self.subscriptions[key].cancelled_on is not None
            ):
                raise ValueError(f"subscription {key} is cancelled")
            if change.kind == "quantity" and (change.quantity is None or change.quantity < 1):
                raise ValueError("quantity must be a whole number >= 1 (cancel the subscription instead of 0)")
        elif change.kind in ("price", "retire", "subscribe"):
            if change.offer_id not in self.offers_by_id:
                raise ValueError(f"unknown offer {change.offer_id!r}")
            entry = self.prices[change.offer_id]
            if change.kind == "subscribe":
                if change.quantity is None or change.quantity < 1:
                    raise ValueError("quantity must be a whole number >= 1")
                if entry.retired_on is not None and entry.retired_on <= change.on:
                    raise ValueError(f"offer {change.offer_id} is retired")
            if change.kind == "price" and (change.unit_price is None or change.unit_price < 0):
                raise ValueError("a price change needs a unit_price >= 0")
        else:
            raise ValueError(f"unknown change kind {change.kind!r}")
        self._seq += 1
        queued = replace(change, seq=self._seq)
        self.pending.append(queued)
        return queued

    # -- publishing --------------------------------------------------------------------------
    def publish(self) -> Invoice:
        first, last = self.next_month, month_end(self.next_month)
        due = sorted((c for c in self.pending if c.on <= last), key=lambda c: (c.on, c.seq))
        self.pending = [c for c in self.pending if c.on > last]
        lines: list[InvoiceLine] = []
        for sub in list(self.subscriptions.values()):
            if sub.start < first and sub.cancelled_on is None and not sub.offer.usage_based:
                lines.extend(self._recurring(sub, first))
        for change in due:
            lines.extend(self._apply(change))
        for sub in self.subscriptions.values():
            if sub.offer.usage_based and sub.start <= last and (sub.cancelled_on is None or sub.cancelled_on >= first):
                lines.append(self._usage_line(sub, first, last))
        invoice = Invoice(first, tuple(lines))
        self.published.append(invoice)
        self.next_month = add_months(first, 1)
        return invoice

    def _recurring(self, sub: BilledSubscription, first: date) -> list[InvoiceLine]:
        anniversary = first.month == sub.start.month and first.year > sub.start.year
        if sub.annual_billing and not anniversary:
            return []
        renews = anniversary or sub.offer.term == "P1M"
        if renews:  # a new term: the price lock ends, the current price list applies
            entry = self.prices[sub.offer.nce_id]
            sub.unit_price, sub.unit_rrp = entry.unit_price, entry.rrp
        start, end = sub.charge_period(first)
        return [self._line(sub, RENEW if renews else CYCLE, start, end, sub.quantity, 1)]

    def _apply(self, change: Change) -> list[InvoiceLine]:
        if change.kind == "price":
            entry = self.prices[change.offer_id or ""]
            entry.unit_price = money(change.unit_price or 0)
            entry.rrp = money(change.rrp) if change.rrp is not None else entry.rrp
            return []
        if change.kind == "retire":
            self.prices[change.offer_id or ""].retired_on = change.on
            return []
        if change.kind == "subscribe":
            offer = self.offers_by_id[change.offer_id or ""]
            entry = self.prices[offer.nce_id]
            sub = BilledSubscription(change.subscription_key or "", change.customer_key or "", offer,
                                     change.quantity or 1, change.on, entry.unit_price, entry.rrp)
            self.subscriptions[sub.key] = sub
            if offer.usage_based:
                return []
            return [self._line(sub, NEW, change.on, sub.charge_period(change.on)[1], sub.quantity, 1)]
        sub = self.subscriptions[change.subscription_key or ""]
        end = sub.charge_period(change.on)[1]
        if change.kind == "cancel":
            sub.cancelled_on = change.on
            if sub.offer.usage_based:
                return []
            if self.style == "pair":
                return [self._line(sub, CANCEL, change.on, end, sub.quantity, -1)]
            return [self._line(sub, CANCEL, change.on, end, -sub.quantity, 1)]
        old, new = sub.quantity, change.quantity or sub.quantity
        sub.quantity = new
        if new == old or sub.offer.usage_based:
            return []
        kind = ADD if new > old else REMOVE
        if self.style == "pair":
            return [self._line(sub, kind, change.on, end, old, -1), self._line(sub, kind, change.on, end, new, 1)]
        return [self._line(sub, kind, change.on, end, new - old, 1)]

    def _line(self, sub: BilledSubscription, charge_type: str, start: date, end: date, quantity: int,
              sign: int) -> InvoiceLine:
        period_start, period_end = sub.charge_period(start)
        days = (end - start).days + 1
        period_days = (period_end - period_start).days + 1
        ratio = billable_ratio(days, period_days) * sign
        unit, rrp = sub.period_price(sub.unit_price), sub.period_price(sub.unit_rrp)
        return InvoiceLine(
            sub.customer_key, sub.key, sub.offer, charge_type, start, end, quantity, unit, rrp, ratio,
            days, period_days, line_total(quantity, unit, ratio), line_total(quantity, rrp, ratio),
        )

    def _usage_line(self, sub: BilledSubscription, first: date, last: date) -> InvoiceLine:
        amount = self.usage(sub.key, first)
        rrp = money(amount / Decimal("0.85"))  # Azure retail = partner cost before the ~15 % partner margin
        start = max(sub.start, first)
        end = min(sub.cancelled_on or last, last)
        days = (end - start).days + 1
        one = Decimal("1.000000")
        return InvoiceLine(sub.customer_key, sub.key, sub.offer, USAGE, start, end, 1, amount, rrp,
                           one, days, days, line_total(1, amount, one), line_total(1, rrp, one))

    # -- reading -----------------------------------------------------------------------------
    def active_offers(self, on: date) -> list[tuple[CloudOffer, PriceEntry]]:
        """The price list on a day: offers not retired by then, with their current prices."""
        out = []
        for offer in self.offers_by_id.values():
            entry = self.prices[offer.nce_id]
            if entry.retired_on is None or entry.retired_on > on:
                out.append((offer, entry))
        return out


def change_date(spec: dict[str, object], next_month: date) -> date:
    """The date of a control-API change: ``date`` (ISO) or ``day`` (of the next unpublished month)."""
    if spec.get("date") is not None:
        return date.fromisoformat(str(spec["date"]))
    day = spec.get("day", 1)
    if isinstance(day, bool) or not isinstance(day, int):
        raise ValueError("day must be a whole number (day of the next unpublished month)")
    if not 1 <= day <= month_end(next_month).day:
        raise ValueError(f"day {day} is not a day of {next_month:%Y-%m}")
    return next_month.replace(day=day)


def whole(spec: dict[str, object], name: str, default: int | None = None) -> int:
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number")
    return value


def decimal_field(spec: dict[str, object], name: str) -> Decimal | None:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} must be a number")
    try:
        return money(Decimal(str(value)))
    except ArithmeticError as exc:
        raise ValueError(f"{name} must be a number") from exc


# The control API's change types (both emulators) → the book's change kinds.
CHANGE_TYPES = ("seat_change", "price_change", "new_tenant", "cancel", "annual_subscription", "retire_product")
