"""Crayon Cloud-iQ / PRISM shapes → CSP_PRODUCT and INVOICE_LINE rows (through ``adapters.csp_billing``).

Read through :class:`~channelsync.clients.crayon.CrayonClient`, whose records come out camelCase whatever
the wire's casing (PascalCase on the live API). docs/vendors/crayon.md §2.2, docs/vendors/microsoft-csp.md §3.1:

- price list: one row per AgreementProduct; ``SalesPrice`` / ``RecommendedRetailPrice`` are per seat per
  month and ``MonthMultiplier`` the months one charge covers, so the canonical per-period prices are
  their product; the billing cycle is the variant's ``DefaultBillingCycleId``;
- invoice: one billing statement (Seat, Usage and OneTime statements are separate invoices); its lines'
  ``ChargeType`` is Microsoft's (``new``, ``cycleCharge``, ... already canonical names), except a line of
  a one-time product (``BillingCycle`` OneTime: ``oneTime``) and an Azure line (``Unit`` Usage or
  ``BillingCycle`` None: ``usage``); ``BillableRatio`` is signed as invoiced (a reversal or a credit is
  negative), prices are per charge period, ``ReferenceId`` links a change's lines.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from channelsync.adapters.csp_fields import Reader, as_float, line_record
from channelsync.canonical.billing import CHARGE_TYPES, CREDIT, ONE_TIME, USAGE
from channelsync.clients.crayon import CRAYON_BAD_RESPONSE, signed_ratio
from channelsync.clients.payload import quantity
from channelsync.errors import FatalApiError

DISTRIBUTOR = "crayon"
# BillingCycleEnum (C# SDK) and the names billing records use → canonical cycles; OneTime is "None" (it
# does not recur) and marks a one-time line.
CYCLES: dict[Any, str] = {1: "Monthly", 2: "Annual", 3: "None", 4: "None", 8: "Triennial", "monthly": "Monthly",
                          "annual": "Annual", "none": "None", "onetime": "None", "triennial": "Triennial",
                          "threeyears": "Triennial"}
ONE_TIME_CYCLES = (4, "onetime")
TERMS = ("P1M", "P1Y", "P3Y")
CANONICAL = {name.lower(): name for name in CHARGE_TYPES}


def organizations(client: Any) -> list[str]:
    """Every organization the API user sees (the default accounts of one Crayon connection)."""
    return [str(org["id"]) for org in client.iter_organizations() if org.get("id") is not None]


def _org(account: str) -> int | None:
    return int(account) if account.isdigit() else None


def _cycle(value: Any) -> str | None:
    if value is None:
        return None
    key = value.lower().replace(" ", "") if isinstance(value, str) else value
    return CYCLES.get(key, str(value))


# -- price list ----------------------------------------------------------------------------------
def product_rows(client: Any, account: str, part_numbers: Collection[str] | None) -> Iterator[dict[str, Any]]:
    wanted = sorted(part_numbers) if part_numbers else None
    for product in client.iter_agreement_products(organization_id=_org(account), part_numbers=wanted):
        yield _product_row(product, account)


def _product_row(product: Any, account: str) -> dict[str, Any]:
    read = Reader(product)
    sku = read.text("productVariant", "partNumber")
    months = read.number("monthMultiplier", check=quantity, required=False) or Decimal(1)
    cost = read.number("salesPrice", "value")
    retail = read.number("recommendedRetailPrice", "value")
    cycle_id = read.raw("productVariant", "defaultBillingCycleId")
    cycle = _cycle(cycle_id)
    if cycle is None:
        read.problems.append("productVariant.defaultBillingCycleId is missing")
    term = read.text("productVariant", "purchasePeriod", required=False)
    unit = (read.text("productVariant", "purchaseUnit", required=False) or "").lower()
    return {
        "source_key": f"{DISTRIBUTOR}:{sku or '#' + str(read.raw('priceId'))}",
        "distributor": DISTRIBUTOR,
        "account": account,
        "sku": sku,
        "name": read.text("productVariant", "productName", required=False) or read.text("name", required=False),
        "description": read.text("productVariant", "product", "itemLegalName", required=False),
        "unit_cost": as_float(cost * months if cost is not None else None),
        "unit_price": as_float(retail * months if retail is not None else None),
        "currency": read.text("salesPrice", "currencyCode", required=False),
        "billing_cycle": cycle,
        "term": term if term in TERMS else None,
        "usage": (cycle == "None" and cycle_id not in ONE_TIME_CYCLES) or unit == "usage",
        "parse_error": read.error,
    }


# -- invoices ------------------------------------------------------------------------------------
def invoices(client: Any, account: str, since: date | None) -> Iterator[dict[str, Any]]:
    """Billing statements as plain invoice facts (``invoice_id``, ``period_start`` ...)."""
    for statement in client.iter_billing_statements(organization_id=_org(account),
                                                    from_date=since.isoformat() if since else None):
        read = Reader(statement)
        facts: dict[str, Any] = {"invoice_id": read.ident("id"), "period_start": read.day("startDate"),
                 "period_end": read.day("endDate"), "published": None,
                 "total": read.number("totalSalesPrice", "value"),
                 "currency": read.text("totalSalesPrice", "currencyCode", required=False), "status": None}
        if read.error:
            raise FatalApiError(f"Crayon: billing statement {facts['invoice_id'] or '?'} cannot be read "
                                f"({read.error})", code=CRAYON_BAD_RESPONSE, system=DISTRIBUTOR)
        yield facts


def line_rows(client: Any, account: str, invoice_id: str) -> Iterator[dict[str, Any]]:
    for index, line in enumerate(client.get_invoice_lines(int(invoice_id))):
        yield _line_row(line, index, account, invoice_id)


def _line_row(line: Any, index: int, account: str, invoice_id: str) -> dict[str, Any]:
    read = Reader(line)
    line_id = read.ident("id")
    raw_type = read.text("chargeType")
    cycle_raw = read.raw("billingCycle")
    cycle_key = cycle_raw.lower().replace(" ", "") if isinstance(cycle_raw, str) else cycle_raw
    unit = (read.text("unit", required=False) or "").lower()
    charge_type = CANONICAL.get((raw_type or "").lower(), raw_type)
    if charge_type != CREDIT and cycle_key in ONE_TIME_CYCLES:
        charge_type = ONE_TIME
    elif charge_type != CREDIT and (unit == "usage" or _cycle(cycle_raw) == "None"):
        charge_type = USAGE
    start, end = read.day("chargeStartDate"), read.day("chargeEndDate")
    read.period(start, end, ("chargeStartDate", "chargeEndDate"))
    term = read.text("termDuration", required=False)
    return line_record(
        read, distributor=DISTRIBUTOR, account=account, invoice_id=invoice_id, line_id=line_id or f"#{index}",
        start=start, end=end,
        customer_id=read.ident("customerTenant", "id"),
        customer_name=read.text("customerTenant", "name", required=False),
        customer_domain=read.text("customerTenant", "domain", required=False),
        subscription_id=read.ident("subscription", "id"),
        sku=read.text("product", "partNumber"),
        product_name=read.text("offerName", required=False) or read.text("product", "itemName", required=False),
        charge_type=charge_type,
        billing_cycle=_cycle(cycle_raw),
        term=term,
        quantity=as_float(read.number("quantity", check=quantity)),
        billable_ratio=as_float(read.number("billableRatio", check=signed_ratio)),
        unit_cost=as_float(read.number("unitPrice")),
        unit_price=as_float(read.number("unitPriceRrp")),
        cost_total=as_float(read.number("subTotal")),
        price_total=as_float(read.number("subTotalRrp")),
        currency=read.currency("currency"),
        reference_id=read.text("referenceId", required=False),
    )

