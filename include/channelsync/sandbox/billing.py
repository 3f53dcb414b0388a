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
  charge for the new quantity over the rest of the period, both ``addQuantity`` / ``removeQuantity``,
  sharing one reference id; in Pax8's ("delta") style one prorate line for the signed quantity
  difference. Cancellation credits the rest of the period (``cancelImmediate``). Price-list changes
  reach a subscription at its next term renewal (NCE price lock); new purchases pay the new price at
  once. Azure usage is one line of quantity 1 at the month's consumption amount (ratio 1: usage is
  measured, not prorated).
- **A subscription's own price change** on a day (``subprice``): the rest of its charge period is
  reversed at the old price and charged at the new one, two ``cycleCharge`` lines with one reference id
  (pair: the same quantity, ratios −r / +r; delta: quantities −q / +q, ratio +r). The new price stays
  with the subscription, renewals included (assumption: a negotiated or corrected price, not a list change).
- **Customer credit** (``credit``): a past, already invoiced stretch of a subscription credited on a
  later invoice, one ``customerCredit`` line: the credited seats (positive), the price the credited
  stretch was invoiced at, the ratio negative (days credited / days of that charge period), in both styles.
- **One-time purchase** (``onetime``): one ``oneTime`` line for the purchase day (quantity × unit price,
  ratio 1); nothing recurs.
- Invoices are for one month, published after it (or early, through the control endpoint): the
  month's recurring charges plus the month's changes. Renewals of retired products continue
  (assumption: the sandbox does not expire subscriptions).
"""

from __future__ import annotations

import calendar
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from channelsync.sandbox.world import CloudOffer, Customer, SeatSubscription

CENT = Decimal("0.01")
RATIO_STEP = Decimal("0.000001")

# Charge types, as in Microsoft's reconciliation files (docs/vendors/microsoft-csp.md §3.1), plus "usage" for
# Azure plan lines and "oneTime" for one-time purchases (each emulator renders them in its own shape).
NEW, CYCLE, RENEW, ADD, REMOVE, CANCEL, USAGE, CREDIT, ONE_TIME = (
    "new", "cycleCharge", "renew", "addQuantity", "removeQuantity", "cancelImmediate", "usage",
    "customerCredit", "oneTime",
)
ONE_TIME_CYCLE = "OneTime"  # the billing cycle of a one-time offer (never recurs)


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
    pinned: bool = False  # its own price (``subprice``): renewals keep it instead of the price list's

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
    """One event of a month. ``kind``: quantity | cancel | price (the price list) | subprice (one
    subscription's price) | subscribe | retire | credit | onetime | usage (the month's Azure amount)."""

    on: date
    kind: str
    subscription_key: str | None = None
    quantity: int | None = None
    offer_id: str | None = None  # NCE id ProductId:SkuId:Term:BillingCycle (or a one-time offer's id)
    unit_price: Decimal | None = None  # per seat per month; ``usage``: the month's partner amount
    rrp: Decimal | None = None
    customer_key: str | None = None
    period_start: date | None = None  # ``credit``: the credited stretch, inclusive
    period_end: date | None = None
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
    billable_ratio: Decimal  # signed in "pair" style, and for credits
    days_billed: int
    days_in_period: int
    sub_total: Decimal
    sub_total_rrp: Decimal
    reference_id: str | None = None  # the change this line belongs to (shared by a pair); None: recurring


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
        self.one_time_offers: dict[str, CloudOffer] = {}
        self.one_time_keys: set[str] = set()
        self.subscriptions: dict[str, BilledSubscription] = {}
        self.pending: list[Change] = []
        self.published: list[Invoice] = []
        self.usage_amounts: dict[tuple[str, date], Decimal] = {}
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

    def add_one_time_offer(self, offer: CloudOffer) -> None:
        """A product sold once (a perpetual licence): billable through ``onetime`` changes only."""
        self.one_time_offers[offer.nce_id] = offer

    def known(self, key: str) -> bool:
        pending = any(c.kind == "subscribe" and c.subscription_key == key for c in self.pending)
        return key in self.subscriptions or pending

    def start_of(self, key: str) -> date:
        if key in self.subscriptions:
            return self.subscriptions[key].start
        return next(c.on for c in self.pending if c.kind == "subscribe" and c.subscription_key == key)

    def offer_of(self, key: str) -> CloudOffer:
        if key in self.subscriptions:
            return self.subscriptions[key].offer
        return self.offers_by_id[next(c.offer_id for c in self.pending
                                      if c.kind == "subscribe" and c.subscription_key == key) or ""]

    def add_change(self, change: Change) -> Change:
        """Validate and queue a change; raises ``ValueError`` with a reason the control API returns."""
        if change.on < self.next_month:
            raise ValueError(f"{change.on} is in a month already invoiced; the next month is {self.next_month:%Y-%m}")
        if change.kind in ("quantity", "cancel", "subprice", "credit", "usage"):
            self._check_subscription_change(change)
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
        elif change.kind == "onetime":
            if change.offer_id not in self.one_time_offers:
                raise ValueError(f"unknown one-time offer {change.offer_id!r}")
            if change.quantity is None or change.quantity < 1:
                raise ValueError("quantity must be a whole number >= 1")
            if not change.customer_key or not change.subscription_key:
                raise ValueError("a one-time purchase needs a customer and a subscription key")
            self.one_time_keys.add(change.subscription_key)
        else:
            raise ValueError(f"unknown change kind {change.kind!r}")
        self._seq += 1
        queued = replace(change, seq=self._seq)
        self.pending.append(queued)
        return queued

    def _check_subscription_change(self, change: Change) -> None:
        key = change.subscription_key or ""
        if key in self.one_time_keys:
            raise ValueError(f"subscription {key} is a one-time purchase: it has no seats, price or usage to change")
        if not self.known(key):
            raise ValueError(f"unknown subscription {key!r}")
        if change.on < self.start_of(key):
            raise ValueError(f"subscription {key} starts after {change.on}")
        cancelled = any(c.kind == "cancel" and c.subscription_key == key for c in self.pending) or (
            key in self.subscriptions and self.subscriptions[key].cancelled_on is not None)
        usage_based = self.offer_of(key).usage_based
        if change.kind == "usage":
            if not usage_based:
                raise ValueError(f"subscription {key} is not an Azure plan: it has no usage")
            if change.unit_price is None or change.unit_price < 0:
                raise ValueError("a usage amount must be a number >= 0")
            return
        if change.kind == "credit":
            self._check_credit(change)
            return
        if cancelled:
            raise ValueError(f"subscription {key} is cancelled")
        if change.kind == "quantity" and (change.quantity is None or change.quantity < 1):
            raise ValueError("quantity must be a whole number >= 1 (cancel the subscription instead of 0)")
        if change.kind == "subprice":
            if usage_based:
                raise ValueError(f"subscription {key} is an Azure plan: its price is its usage")
            if change.unit_price is None or change.unit_price < 0:
                raise ValueError("a subscription price change needs a unit_price >= 0")

    def _check_credit(self, change: Change) -> None:
        key = change.subscription_key or ""
        sub = self.subscriptions.get(key)
        start, end = change.period_start, change.period_end
        if sub is None:
            raise ValueError(f"subscription {key} has never been invoiced: nothing to credit")
        if sub.offer.usage_based:
            raise ValueError(f"subscription {key} is an Azure plan: credit its usage is not emulated")
        if start is None or end is None or start > end:
            raise ValueError("a credit needs a period: from <= to")
        if end >= self.next_month:
            raise ValueError(f"a credit is for a past period: {end} is not invoiced yet "
                             f"(invoiced up to {self.next_month - timedelta(days=1)})")
        if start < sub.start or (sub.cancelled_on is not None and end >= sub.cancelled_on):
            raise ValueError(f"subscription {key} was not billed on every day from {start} to {end}")
        if sub.charge_period(start)[1] < end:
            raise ValueError(f"{start} to {end} spans two charge periods of subscription {key}: credit each apart")
        if change.quantity is None or change.quantity < 1:
            raise ValueError("quantity must be a whole number >= 1")

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
        if renews and not sub.pinned:  # a new term: the price lock ends, the current price list applies
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
        if change.kind == "usage":
            self.usage_amounts[(change.subscription_key or "", month_start(change.on))] = money(change.unit_price or 0)
            return []
        if change.kind == "onetime":
            return [self._one_time_line(change)]
        if change.kind == "subscribe":
            offer = self.offers_by_id[change.offer_id or ""]
            entry = self.prices[offer.nce_id]
            sub = BilledSubscription(change.subscription_key or "", change.customer_key or "", offer,
                                     change.quantity or 1, change.on, entry.unit_price, entry.rrp)
            self.subscriptions[sub.key] = sub
            if offer.usage_based:
                return []
            return [self._line(sub, NEW, change.on, sub.charge_period(change.on)[1], sub.quantity, 1,
                               reference=self._reference(change))]
        sub = self.subscriptions[change.subscription_key or ""]
        reference = self._reference(change)
        if change.kind == "credit":
            return [self._credit_line(sub, change, reference)]
        end = sub.charge_period(change.on)[1]
        if change.kind == "cancel":
            sub.cancelled_on = change.on
            if sub.offer.usage_based:
                return []
            if self.style == "pair":
                return [self._line(sub, CANCEL, change.on, end, sub.quantity, -1, reference=reference)]
            return [self._line(sub, CANCEL, change.on, end, -sub.quantity, 1, reference=reference)]
        if change.kind == "subprice":
            return self._price_pair(sub, change, end, reference)
        old, new = sub.quantity, change.quantity or sub.quantity
        sub.quantity = new
        if new == old or sub.offer.usage_based:
            return []
        kind = ADD if new > old else REMOVE
        if self.style == "pair":
            return [self._line(sub, kind, change.on, end, old, -1, reference=reference),
                    self._line(sub, kind, change.on, end, new, 1, reference=reference)]
        return [self._line(sub, kind, change.on, end, new - old, 1, reference=reference)]

    def _price_pair(self, sub: BilledSubscription, change: Change, end: date, reference: str) -> list[InvoiceLine]:
        old = (sub.period_price(sub.unit_price), sub.period_price(sub.unit_rrp))
        unit = money(change.unit_price or 0)
        rrp = money(change.rrp) if change.rrp is not None else sub.unit_rrp
        sub.unit_price, sub.unit_rrp, sub.pinned = unit, rrp, True
        new = (sub.period_price(unit), sub.period_price(rrp))
        if new == old:
            return []
        q = sub.quantity
        if self.style == "pair":
            return [self._line(sub, CYCLE, change.on, end, q, -1, prices=old, reference=reference),
                    self._line(sub, CYCLE, change.on, end, q, 1, prices=new, reference=reference)]
        return [self._line(sub, CYCLE, change.on, end, -q, 1, prices=old, reference=reference),
                self._line(sub, CYCLE, change.on, end, q, 1, prices=new, reference=reference)]

    def _credit_line(self, sub: BilledSubscription, change: Change, reference: str) -> InvoiceLine:
        start, end = change.period_start or change.on, change.period_end or change.on
        return self._line(sub, CREDIT, start, end, change.quantity or sub.quantity, -1,
                          prices=self.billed_prices(sub, start), reference=reference)

    def billed_prices(self, sub: BilledSubscription, day: date) -> tuple[Decimal, Decimal]:
        """The (unit, rrp) per charge period a subscription was last invoiced at for ``day`` (a credit
        gives back what was charged); its current price when no published line covers the day."""
        found = (sub.period_price(sub.unit_price), sub.period_price(sub.unit_rrp))
        for invoice in self.published:
            for line in invoice.lines:
                if (line.subscription_key == sub.key and line.charge_start <= day <= line.charge_end
                        and line.billable_ratio > 0 and line.quantity > 0 and line.charge_type != CREDIT):
                    found = (line.unit_price, line.unit_rrp)
        return found

    def _one_time_line(self, change: Change) -> InvoiceLine:
        offer = self.one_time_offers[change.offer_id or ""]
        quantity = change.quantity or 1
        unit = money(change.unit_price) if change.unit_price is not None else offer.unit_cost
        rrp = money(change.rrp) if change.rrp is not None else offer.rrp
        one = Decimal("1.000000")
        return InvoiceLine(change.customer_key or "", change.subscription_key or "", offer, ONE_TIME, change.on,
                           change.on, quantity, unit, rrp, one, 1, 1, line_total(quantity, unit, one),
                           line_total(quantity, rrp, one), self._reference(change))

    def _reference(self, change: Change) -> str:
        """A stable id per change (Microsoft's ``ReferenceId``): the lines of one change share it."""
        rng = random.Random(f"reference:{self.style}:{change.seq}:{change.kind}:{change.subscription_key}:{change.on}")
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def _line(self, sub: BilledSubscription, charge_type: str, start: date, end: date, quantity: int,
              sign: int, *, prices: tuple[Decimal, Decimal] | None = None,
              reference: str | None = None) -> InvoiceLine:
        """``prices``: (unit, rrp) per charge period; the subscription's own by default."""
        period_start, period_end = sub.charge_period(start)
        days = (end - start).days + 1
        period_days = (period_end - period_start).days + 1
        ratio = billable_ratio(days, period_days) * sign
        unit, rrp = prices or (sub.period_price(sub.unit_price), sub.period_price(sub.unit_rrp))
        return InvoiceLine(
            sub.customer_key, sub.key, sub.offer, charge_type, start, end, quantity, unit, rrp, ratio,
            days, period_days, line_total(quantity, unit, ratio), line_total(quantity, rrp, ratio), reference,
        )

    def _usage_line(self, sub: BilledSubscription, first: date, last: date) -> InvoiceLine:
        amount = self.usage_amounts.get((sub.key, first))
        if amount is None:
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


# -- the seeded mix ---------------------------------------------------------------------------------
def billing_mix(seats: list[SeatSubscription], offers: list[CloudOffer], customers: list[Customer], *,
                first_month: date, renew_month: date, seed: int, tag: str) -> list[SeatSubscription]:
    """``seats`` (one distributor's share of the world) plus what every seeded book must bill: an
    annual-billed subscription that renews in ``renew_month`` (the first month the scenarios publish)
    and an Azure plan billed from before ``first_month`` (the first invoiced month). Added to the first
    customer that is in the PSAs, only when the world's random draw has none."""
    if not customers:
        return list(seats)
    owner = next((c for c in customers if c.in_psa), customers[0])
    rng = random.Random(f"{seed}:billing-mix:{tag}")
    extra: list[SeatSubscription] = []
    if not any(s.offer.billing_cycle == "Annual" and s.start.month == renew_month.month
               and s.start.year < renew_month.year for s in seats):
        annual = next(o for o in offers if o.billing_cycle == "Annual" and not o.usage_based)
        extra.append(SeatSubscription(owner.index, annual, 5, add_months(renew_month, -12),
                                      str(uuid.UUID(int=rng.getrandbits(128), version=4))))
    if not any(s.offer.usage_based and s.start < first_month for s in seats):
        azure = next(o for o in offers if o.usage_based)
        extra.append(SeatSubscription(owner.index, azure, 1, add_months(first_month, -1),
                                      str(uuid.UUID(int=rng.getrandbits(128), version=4))))
    return [*seats, *extra]


# -- control-API helpers (both emulators) -----------------------------------------------------------
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


def date_field(spec: dict[str, object], name: str) -> date | None:
    value = spec.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"{name} must be an ISO date (YYYY-MM-DD)") from exc


def credit_change(book: BillingBook, spec: dict[str, object], key: str, on: date) -> Change:
    """A ``credit`` control change: ``from`` / ``to`` (default: the last invoiced month, within the
    subscription's life), ``quantity`` (default: the subscription's seats now)."""
    sub = book.subscriptions.get(key)
    last_month = add_months(book.next_month, -1)
    start = date_field(spec, "from") or (max(last_month, sub.start) if sub else last_month)
    end = date_field(spec, "to") or month_end(last_month)
    quantity = whole(spec, "quantity", sub.quantity if sub else 1)
    return Change(on, "credit", key, quantity, period_start=start, period_end=end)


# A one-time product when the control request names none (assumption: an illustrative perpetual licence,
# not a real Microsoft product id).
ONE_TIME_DEFAULT = ("DG7GMGF0ONCE", "0001", "Windows Server 2022 Standard - 2 Core (perpetual)", "120.00")


def one_time_offer(spec: dict[str, object]) -> CloudOffer:
    """The one-time product of a ``one_time`` control change: ``product_id``, ``sku_id``, ``name``,
    ``unit_price`` (partner, per unit), ``rrp``; defaults: :data:`ONE_TIME_DEFAULT` at 85 % cost."""
    product_id = str(spec.get("product_id") or ONE_TIME_DEFAULT[0])
    sku_id = str(spec.get("sku_id") or ONE_TIME_DEFAULT[1])
    name = str(spec.get("name") or ONE_TIME_DEFAULT[2])
    rrp = decimal_field(spec, "rrp") or Decimal(ONE_TIME_DEFAULT[3])
    unit = decimal_field(spec, "unit_price")
    if unit is None:
        unit = money(rrp * Decimal("0.85"))
    if unit < 0 or rrp < 0:
        raise ValueError("unit_price and rrp must be >= 0")
    return CloudOffer(product_id, sku_id, name, "NONE", ONE_TIME_CYCLE, unit, rrp)


# The control API's change types (both emulators) → the book's change kinds.
CHANGE_TYPES = ("seat_change", "price_change", "subscription_price", "new_tenant", "cancel",
                "annual_subscription", "retire_product", "credit", "one_time", "usage")
