"""Pax8 partner API shapes → CSP_PRODUCT and INVOICE_LINE rows (through ``adapters.csp_billing``).

docs/vendors/pax8.md §4.1, §4.3. Pax8 names a product, not the variant sold: one product has a pricing
entry per billing term and commitment (Monthly on a 1-Month or 1-Year commitment, Annual ...). So the
canonical ``sku`` is the variant: ``<product sku>:<term>:<billing cycle>`` (``MST-NCE-004-0001:P1Y:Monthly``,
the shape of Crayon's NCE part numbers), the product sku alone for usage and one-time products; an
invoice item gets the same from its subscription's commitment and the item's ``term``.

An invoice item carries no Microsoft charge type and no ratio; both are derived, never read from the
free-text ``details``:

- charge type from ``type``: ``subscription`` → ``cycleCharge`` (``usage`` when ``term`` is Arrears),
  ``prorate`` → ``new`` (its start is the subscription's start) or ``addQuantity`` for a positive
  quantity, ``cancelImmediate`` (the subscription was cancelled that day) or ``removeQuantity`` for a
  negative one, ``one-time`` → ``oneTime``, ``service-credit`` / ``invoice-credit`` → ``customerCredit``;
  anything else keeps Pax8's name (``rebate``, ``payment-credit``, ...) for the suite to quarantine;
- billable ratio: inclusive days / days of the charge period (the calendar month of ``startPeriod`` for
  Monthly billing; the 12 months from the 1st of the subscription's start month for Annual), signed as
  the totals say (``costTotal`` / (``quantity`` × ``cost``)), used when it reproduces ``costTotal`` to the
  cent; otherwise (an unknown period, Pax8's own rounding) the totals' quotient itself, to 6 decimals.
  Pax8's "delta" style puts a change's sign in the quantity (a seat removal is −n at ratio +r); a credit
  has positive seats and negative totals, so a negative ratio.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from channelsync.adapters.csp_fields import Reader, as_float, line_record, ratio6
from channelsync.canonical.billing import ADD, CANCEL, CREDIT, CYCLE, NEW, ONE_TIME, REMOVE, USAGE
from channelsync.clients.pax8 import PAX8_BAD_RESPONSE
from channelsync.clients.payload import quantity
from channelsync.errors import FatalApiError

DISTRIBUTOR = "pax8"
BILLING_TERMS = {"monthly": "Monthly", "annual": "Annual", "3-year": "Triennial", "3 year": "Triennial",
                 "arrears": "None", "one-time": "None"}
COMMITMENTS = {"1-month": "P1M", "1-year": "P1Y", "3-year": "P3Y"}
CREDIT_TYPES = ("service-credit", "invoice-credit")
HALF_CENT = Decimal("0.005")


def variant_sku(sku: str | None, term: str | None, cycle: str | None) -> str | None:
    """``<sku>:<term>:<cycle>``, leaving out what a product does not have (no commitment; no cycle: usage)."""
    if not sku:
        return None
    return ":".join([sku, *([term] if term else []), *([cycle] if cycle and cycle != "None" else [])])


def _cycle(term: str | None) -> str | None:
    return None if term is None else BILLING_TERMS.get(term.lower(), term)


# -- price list ----------------------------------------------------------------------------------
def currency_of(client: Any) -> str | None:
    """Pax8 pricing names no currency: the partner's is its invoices' (else its subscriptions')."""
    for source in (client.iter_invoices(), client.iter_subscriptions()):
        first = next(iter(source), None)
        if first and isinstance(first.get("currencyCode"), str):
            return str(first["currencyCode"]).upper()
    return None


def product_rows(client: Any, account: str, part_numbers: Collection[str] | None,
                 vendor: str | None) -> Iterator[dict[str, Any]]:
    """One row per pricing entry (variant) of every product; a product without pricing is one row
    with ``parse_error`` (one pricing call per product: narrow with ``part_numbers`` or ``vendor``)."""
    wanted = {pn.split(":")[0] for pn in part_numbers} if part_numbers else None
    money_code = currency_of(client)
    for product in client.iter_products(vendor_name=vendor):
        if wanted is not None and product.get("sku") not in wanted:
            continue
        pricing = client.get_product_pricing(str(product.get("id")))
        if not pricing:
            yield _product_row(product, {}, account, money_code, "the product has no pricing for this partner")
        for entry in pricing:
            row = _product_row(product, entry, account, money_code, None)
            if part_numbers is None or row["sku"] in part_numbers or row["sku"] is None:
                yield row


def _product_row(product: dict[str, Any], entry: dict[str, Any], account: str, money_code: str | None,
                 problem: str | None) -> dict[str, Any]:
    """One pricing entry of a product (``entry`` empty: the product has none, ``problem`` says so)."""
    read, pricing = Reader(product), Reader(entry)
    sku = read.text("sku")
    cycle = _cycle(pricing.text("billingTerm", required=False))
    term = COMMITMENTS.get((pricing.text("commitmentTerm", required=False) or "").lower())
    rates = [r for r in entry.get("rates") or [] if isinstance(r, dict)]
    rate = Reader(min(rates, key=lambda r: _number_or(r.get("startQuantityRange"), 0)) if rates else {})
    cost = rate.number("partnerBuyRate") if rates else None
    retail = rate.number("suggestedRetailPrice") if rates else None
    usage = (pricing.text("unitOfMeasurement", required=False) or "").lower() == "usage" or \
        pricing.text("type", required=False) == "Mark-Up"
    variant = variant_sku(sku, term, "None" if usage else cycle)
    name = read.text("name", required=False) or pricing.text("productName", required=False)
    description = read.text("shortDescription", required=False)
    problems = [*([problem] if problem else []), *read.problems, *pricing.problems,
                *(["rates is missing"] if entry and not rates else []), *(f"rates[0].{p}" for p in rate.problems)]
    return {
        "source_key": f"{DISTRIBUTOR}:{variant or '#' + str(product.get('id'))}",
        "distributor": DISTRIBUTOR,
        "account": account,
        "sku": variant,
        "name": name,
        "description": description,
        "unit_cost": as_float(cost),
        "unit_price": as_float(retail),
        "currency": money_code,
        "billing_cycle": "None" if usage else cycle,
        "term": term,
        "usage": usage,
        "parse_error": "; ".join(problems)[:500] or None,
    }


def _number_or(value: Any, default: float) -> float:
    return float(value) if isinstance(value, int | float | Decimal) and not isinstance(value, bool) else default


# -- invoices ------------------------------------------------------------------------------------
def invoices(client: Any, account: str, since: date | None) -> Iterator[dict[str, Any]]:
    """Invoices newest first, as plain facts; the billed month is the one before ``invoiceDate``
    (Pax8 invoices on the 1st for the month before; assumption, docs/vendors/pax8.md §4.3)."""
    for invoice in client.iter_invoices():
        read = Reader(invoice)
        invoice_date = read.day("invoiceDate")
        invoice_id = read.ident("id")
        facts: dict[str, Any] = {"invoice_id": invoice_id, "published": invoice_date, "total": read.number("total"),
                                 "currency": read.currency("currencyCode", required=False),
                                 "status": read.text("status", required=False)}
        if read.error or invoice_date is None:
            raise FatalApiError(f"Pax8: invoice {invoice_id or '?'} cannot be read ({read.error})",
                                code=PAX8_BAD_RESPONSE, system=DISTRIBUTOR)
        period_end = invoice_date.replace(day=1) - timedelta(days=1)
        if since is not None and period_end < since:
            return  # newest first: every later one is older
        yield {**facts, "period_start": period_end.replace(day=1), "period_end": period_end}


def line_rows(client: Any, account: str, invoice_id: str) -> Iterator[dict[str, Any]]:
    subscriptions = {str(s.get("id")): s for s in client.iter_subscriptions()}
    for index, item in enumerate(client.iter_invoice_items(invoice_id)):
        subscription = subscriptions.get(str(item.get("subscriptionId")), {}) if isinstance(item, dict) else {}
        yield _line_row(item, index, account, invoice_id, subscription)


def _line_row(item: Any, index: int, account: str, invoice_id: str, subscription: dict[str, Any]) -> dict[str, Any]:
    read = Reader(item)
    line_id = read.ident("id")
    kind = read.text("type")
    term_name = read.text("term", required=False)
    cycle = _cycle(term_name) or _cycle(subscription.get("billingTerm"))
    start, end = read.day("startPeriod"), read.day("endPeriod")
    read.period(start, end, ("startPeriod", "endPeriod"))
    seats, cost, retail = read.number("quantity", check=quantity), read.number("cost"), read.number("price")
    cost_total, price_total = read.number("costTotal"), read.number("subTotal")
    commitment = subscription.get("commitmentTerm")
    term = COMMITMENTS.get(str(commitment.get("term") or "").lower()) if isinstance(commitment, dict) else None
    charge_type = _charge_type(kind, term_name, seats, start, subscription)
    sku = read.text("sku")
    return line_record(
        read, distributor=DISTRIBUTOR, account=account, invoice_id=invoice_id, line_id=line_id or f"#{index}",
        start=start, end=end,
        customer_id=read.ident("companyId"),
        customer_name=read.text("companyName", required=False),
        customer_domain=None,  # Pax8's invoice items and companies do not carry the Microsoft domain
        subscription_id=read.ident("subscriptionId"),
        sku=sku if charge_type in (USAGE, ONE_TIME) else variant_sku(sku, term, cycle),
        product_name=read.text("productName", required=False) or read.text("description", required=False),
        charge_type=charge_type,
        billing_cycle=cycle,
        term=term,
        quantity=as_float(seats),
        billable_ratio=as_float(_ratio(seats, cost, retail, cost_total, price_total, start, end, cycle,
                                       subscription)),
        unit_cost=as_float(cost),
        unit_price=as_float(retail),
        cost_total=as_float(cost_total),
        price_total=as_float(price_total),
        currency=read.currency("currencyCode"),
        reference_id=None,  # Pax8 does not link the items of one change
    )


def _charge_type(kind: str | None, term: str | None, seats: Decimal | None, start: date | None,
                 subscription: dict[str, Any]) -> str | None:
    name = (kind or "").lower()
    if name == "subscription":
        return USAGE if (term or "").lower() == "arrears" else CYCLE
    if name == "one-time":
        return ONE_TIME
    if name in CREDIT_TYPES:
        return CREDIT
    if name != "prorate" or seats is None or start is None:
        return kind
    if seats >= 0:
        return NEW if str(subscription.get("startDate") or "")[:10] == start.isoformat() else ADD
    cancelled = subscription.get("status") == "Cancelled" and str(subscription.get("endDate") or "")[:10] == \
        start.isoformat()
    return CANCEL if cancelled else REMOVE


def _ratio(seats: Decimal | None, cost: Decimal | None, retail: Decimal | None, cost_total: Decimal | None,
           price_total: Decimal | None, start: date | None, end: date | None, cycle: str | None,
           subscription: dict[str, Any]) -> Decimal | None:
    if seats is None or cost is None or cost_total is None:
        return None
    quotient = None
    if seats * cost != 0:
        quotient = cost_total / (seats * cost)
    elif retail is not None and price_total is not None and seats * retail != 0:
        quotient = price_total / (seats * retail)
    days = _period_ratio(start, end, cycle, subscription)
    sign = -1 if quotient is not None and quotient < 0 else 1
    if days is not None and (quotient is None or abs(seats * cost * days * sign - cost_total) <= HALF_CENT):
        return days * sign
    return ratio6(quotient) if quotient is not None else Decimal(1)


def _period_ratio(start: date | None, end: date | None, cycle: str | None,
                  subscription: dict[str, Any]) -> Decimal | None:
    """Inclusive days / days of the charge period the stretch lies in, when the period is known."""
    if start is None or end is None:
        return None
    if cycle == "Monthly":
        first, last = start.replace(day=1), start.replace(day=calendar.monthrange(start.year, start.month)[1])
    elif cycle == "Annual" and str(subscription.get("startDate") or "")[:7]:
        try:
            month = int(str(subscription["startDate"])[5:7])
        except ValueError:
            return None
        first = date(start.year if start.month >= month else start.year - 1, month, 1)
        last = date(first.year + 1, month, 1) - timedelta(days=1)
    else:
        return None
    if end > last:
        return None
    return ratio6(Decimal((end - start).days + 1) / Decimal((last - first).days + 1))
