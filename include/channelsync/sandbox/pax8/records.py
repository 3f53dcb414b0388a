"""Pax8 partner API records in wire shape (specs/pax8-partner.openapi.json).

Assumptions where the spec is silent:
- One Pax8 product per Microsoft ``ProductId:SkuId`` (``vendorSku``); its pricing lists one entry per
  NCE variant: Monthly billing with a 1-Month or 1-Year commitment, Annual billing with a 1-Year one.
  Rates are per unit per billing term (an Annual rate is 12 months).
- Invoices are the partner's monthly invoice (one per month, all companies); items carry ``companyId``.
  ``cost`` / ``costTotal`` / ``amountDue`` are what the partner owes Pax8, ``price`` / ``subTotal`` /
  ``total`` the suggested retail side. ``invoice.total`` = Σ ``amountDue``.
- Proration has no ratio field in Pax8's shape: ``details`` carries it ("<charge type>; <d> of <n>
  days; billable ratio <r>") so the arithmetic stays checkable, with ``startPeriod`` / ``endPeriod``
  (inclusive dates) giving the days. ``details`` is free text in the spec: channelsync's adapter never
  reads it (it derives the ratio from the dates and totals, docs/vendors/pax8.md §4.3).
- Item ``type``: ``subscription`` for a period's recurring charge (and Azure usage, ``term`` ``Arrears``),
  ``prorate`` for every change within a period (purchase, seat change, cancellation, a subscription's
  price change: a credit at the old price and a charge at the new), ``service-credit`` for a customer
  credit of a past stretch (positive quantity, negative totals), ``one-time`` for a one-time purchase
  (``term`` ``One-Time``).
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from channelsync.sandbox.billing import (
    CREDIT,
    CYCLE,
    ONE_TIME,
    ONE_TIME_CYCLE,
    RENEW,
    USAGE,
    InvoiceLine,
    add_months,
)
from channelsync.sandbox.world import CloudOffer, Customer

PARTNER_NAME = "Channelsync Demo MSP"
CURRENCY = "USD"

# NCE variant → (billingTerm, commitment term, months)
VARIANTS = {("P1M", "Monthly"): ("Monthly", "1-Month", 1), ("P1Y", "Monthly"): ("Monthly", "1-Year", 12),
            ("P1Y", "Annual"): ("Annual", "1-Year", 12), ("NONE", "None"): ("Monthly", None, 0),
            ("NONE", ONE_TIME_CYCLE): ("One-Time", None, 0)}
RECURRING = (CYCLE, RENEW, USAGE)  # charge types of a period's own line (no reference: not a change)
ITEM_TYPE = {CREDIT: "service-credit", ONE_TIME: "one-time"}


def item_type(line: InvoiceLine) -> str:
    if line.charge_type in RECURRING and line.reference_id is None:
        return "subscription"
    return ITEM_TYPE.get(line.charge_type, "prorate")


def stable_uuid(seed: int, purpose: str) -> str:
    return str(uuid.UUID(int=random.Random(f"{seed}:pax8:{purpose}").getrandbits(128), version=4))


def iso_datetime(day: date) -> str:
    return datetime.combine(day, time(8, 30)).strftime("%Y-%m-%dT%H:%M:%SZ")


def company_record(company_id: str, customer: Customer, updated: datetime) -> dict[str, Any]:
    return {
        "id": company_id,
        "name": customer.name,
        "address": {"street": customer.address, "city": customer.city, "stateOrProvince": customer.state,
                    "postalCode": customer.postal_code, "country": "US"},
        "phone": customer.phone,
        "website": f"https://www.{customer.domain}",
        "externalId": customer.key,
        "billOnBehalfOfEnabled": False,
        "selfServiceAllowed": False,
        "orderApprovalRequired": False,
        "status": "Active",
        "updatedDate": updated.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }


def product_record(product_id: str, offer: CloudOffer, index: int) -> dict[str, Any]:
    return {
        "id": product_id,
        "name": offer.name,
        "vendorName": "Microsoft",
        "shortDescription": f"{offer.name} (new commerce)",
        "description": f"{offer.name}. Microsoft new-commerce licence sold through Pax8.",
        "sku": f"MST-NCE-{index:03d}-{offer.sku_id}",
        "vendorSku": f"{offer.product_id}:{offer.sku_id}",
        "requiresCommitment": not offer.usage_based,
    }


def pricing_record(product_id: str, offer: CloudOffer, unit: Decimal, rrp: Decimal) -> dict[str, Any]:
    billing_term, commitment, months = VARIANTS[(offer.term, offer.billing_cycle)]
    factor = 12 if offer.billing_cycle == "Annual" else 1
    record: dict[str, Any] = {
        "productId": product_id,
        "productName": offer.name,
        "billingTerm": billing_term,
        "type": "Flat",
        "unitOfMeasurement": "Usage" if offer.usage_based else "User",
        "rates": [{"partnerBuyRate": float(unit * factor), "suggestedRetailPrice": float(rrp * factor),
                   "startQuantityRange": 1, "chargeType": "Per Unit"}],
    }
    if commitment:
        record["commitmentTerm"] = commitment
        record["commitmentTermInMonths"] = months
    return record


def subscription_record(sub_id: str, company_id: str, product_id: str, offer: CloudOffer, quantity: int,
                        start: date, vendor_sub_id: str, unit: Decimal, rrp: Decimal, seed: int) -> dict[str, Any]:
    billing_term, commitment, months = VARIANTS[(offer.term, offer.billing_cycle)]
    factor = 12 if offer.billing_cycle == "Annual" else 1
    record: dict[str, Any] = {
        "id": sub_id,
        "companyId": company_id,
        "productId": product_id,
        "vendorSubscriptionId": vendor_sub_id,
        "vendorSkuId": offer.sku_id,
        "quantity": quantity,
        "startDate": iso_datetime(start),
        "createdDate": iso_datetime(start),
        "updatedDate": iso_datetime(start),
        "billingStart": start.isoformat(),
        "status": "Active",
        "price": float(rrp * factor),
        "currencyCode": CURRENCY,
        "partnerCost": float(unit * factor),
        "productName": offer.name,
        "billingTerm": billing_term,
    }
    if commitment:
        end = add_months(start, months) - timedelta(days=1)
        record["commitmentTerm"] = {"id": stable_uuid(seed, f"commitment:{commitment}"), "term": commitment,
                                    "endDate": iso_datetime(end)}
    return record


def invoice_record(invoice_id: str, month: date, total: Decimal, paid: bool) -> dict[str, Any]:
    invoice_date = add_months(month, 1)
    return {
        "id": invoice_id,
        "invoiceDate": invoice_date.isoformat(),
        "dueDate": (invoice_date + timedelta(days=14)).isoformat(),
        "balance": 0.0 if paid else float(total),
        "carriedBalance": 0.0,
        "total": float(total),
        "currencyCode": CURRENCY,
        "partnerName": PARTNER_NAME,
        "status": "Paid" if paid else "Unpaid",
    }


def invoice_item(item_id: str, invoice_id: str, line: InvoiceLine, company: dict[str, Any],
                 subscription: dict[str, Any], product: dict[str, Any]) -> dict[str, Any]:
    usage = line.charge_type == USAGE
    one_time = line.charge_type == ONE_TIME
    term = "Arrears" if usage else "One-Time" if one_time else (
        "Annual" if line.offer.billing_cycle == "Annual" else "Monthly")
    return {
        "id": item_id,
        "invoiceId": invoice_id,  # stored for lookups; removed from the wire by the emulator
        "purchaseOrderNumber": "N/A",
        "type": item_type(line),
        "companyId": company.get("id"),
        "externalId": company.get("externalId"),
        "companyName": company.get("name"),
        "startPeriod": line.charge_start.isoformat(),
        "endPeriod": line.charge_end.isoformat(),
        "quantity": line.quantity,
        "unitOfMeasure": "Usage" if usage else "Each" if one_time else "User",
        "term": term,
        "sku": product.get("sku"),
        "description": line.offer.name,
        "details": f"{line.charge_type}; {line.days_billed} of {line.days_in_period} days; "
                   f"billable ratio {line.billable_ratio}",
        "rateType": "single",
        "chargeType": "per",
        "price": float(line.unit_rrp),
        "subTotal": float(line.sub_total_rrp),
        "cost": float(line.unit_price),
        "costTotal": float(line.sub_total),
        "offeredBy": "Pax8",
        "billedByPax8": False,
        "total": float(line.sub_total_rrp),
        "productId": product.get("id"),
        "productName": line.offer.name,
        "billingFee": 0.0,
        "billingFeeRate": 0.0,
        "amountDue": float(line.sub_total),
        "currencyCode": CURRENCY,
        "salesTax": 0.0,
        "subscriptionId": subscription.get("id"),
        "vendorName": "Microsoft",
    }
