"""Billing levers and orders of the Pax8 emulator.

Control endpoints: ``POST /_sandbox/pax8/invoices/publish`` (the next month's partner invoice),
``POST /_sandbox/pax8/changes``, ``GET /_sandbox/pax8/billing``, ``POST /_sandbox/pax8/limits {"limit": n,
"window_seconds": s}``. The change types are Crayon's (see ``channelsync.sandbox.crayon.control``) with Pax8
ids (UUIDs): ``subscription_id``, ``company_id`` where Crayon says ``tenant_id``; ``new_tenant`` is also
spelled ``new_company``. Rendered in Pax8's "delta" style: a change within a period is one ``prorate``
item of the signed quantity difference (a subscription's price change: a ``prorate`` of −quantity at the
old price and one of +quantity at the new), a credit a ``service-credit`` item, a one-time purchase a
``one-time`` item, Azure usage a ``subscription`` item with term ``Arrears``.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from channelsync.sandbox.billing import (
    CHANGE_TYPES,
    Change,
    change_date,
    credit_change,
    decimal_field,
    one_time_offer,
    whole,
)
from channelsync.sandbox.billing_control import billing_control
from channelsync.sandbox.framework import SandboxRequest, SandboxResponse, json_response
from channelsync.sandbox.pax8 import records
from channelsync.sandbox.world import Customer

if TYPE_CHECKING:
    from channelsync.sandbox.pax8.emulator import Pax8Emulator


class Unprocessable(Exception):
    """A 422 in Pax8's ``Error`` shape, with one detail per refused field."""

    def __init__(self, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.details = details


def handle_control(emulator: Pax8Emulator, request: SandboxRequest) -> SandboxResponse:
    path = request.path.rstrip("/").lower()
    try:
        shared = billing_control(request, emulator.book, lambda: publish_next(emulator),
                                 lambda item: apply_change(emulator, item))
        if shared is not None:
            return shared
        if path == "/limits":
            if request.method == "POST":
                body = request.json() or {}
                emulator.limit = whole(body, "limit", emulator.limit)
                emulator.window_seconds = float(body.get("window_seconds", emulator.window_seconds))
                emulator._window_start = None
            return json_response(200, {"limit": emulator.limit, "window_seconds": emulator.window_seconds})
    except (ValueError, TypeError, KeyError) as exc:
        return json_response(400, {"error": str(exc)})
    return json_response(404, {"error": f"no control endpoint {request.method} {request.path} for pax8"})


def publish_next(emulator: Pax8Emulator) -> dict[str, Any]:
    invoice = emulator.book.publish()
    seed = emulator.context.world.seed
    invoice_id = records.stable_uuid(seed, f"invoice:{invoice.month:%Y-%m}")
    for old in emulator.invoices.rows():  # earlier invoices are paid by the time a new one arrives
        emulator.invoices.update(old["id"], {"status": "Paid", "balance": 0.0})
    record = emulator.invoices.insert(records.invoice_record(invoice_id, invoice.month, invoice.total, paid=False))
    for number, line in enumerate(invoice.lines, start=1):
        subscription = emulator.subscriptions.get(line.subscription_key) or {}
        company = emulator.companies.get(subscription.get("companyId")) or {}
        product_id = str(subscription.get("productId"))
        product = emulator.products.get(product_id) or emulator.one_time_products.get(product_id) or {}
        item_id = records.stable_uuid(seed, f"item:{invoice_id}:{number}")
        item = records.invoice_item(item_id, invoice_id, line, company, subscription, product)
        emulator.items.insert({**item, "seq": number})
    return {"month": f"{invoice.month:%Y-%m}", "invoice": record, "itemCount": len(invoice.lines)}


def apply_change(emulator: Pax8Emulator, spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ValueError("a change is a JSON object with a type")
    kind = "new_tenant" if spec.get("type") == "new_company" else spec.get("type")
    if kind not in CHANGE_TYPES:
        raise ValueError(f"unknown change type {kind!r}; expected one of {', '.join(CHANGE_TYPES)}")
    book = emulator.book
    on = change_date(spec, book.next_month)
    answer: dict[str, Any] = {"type": kind, "date": on.isoformat()}
    if kind in ("seat_change", "cancel", "subscription_price", "credit"):
        sub_id = str(spec.get("subscription_id") or "")
        if emulator.subscriptions.get(sub_id) is None:
            raise ValueError(f"unknown subscription {sub_id!r}")
        if kind == "seat_change":
            quantity = whole(spec, "quantity")
            book.add_change(Change(on, "quantity", sub_id, quantity))
            emulator.subscriptions.update(sub_id, {"quantity": quantity, "updatedDate": records.iso_datetime(on)})
        elif kind == "cancel":
            book.add_change(Change(on, "cancel", sub_id))
            emulator.subscriptions.update(sub_id, {"status": "Cancelled", "endDate": records.iso_datetime(on),
                                                   "updatedDate": records.iso_datetime(on)})
        elif kind == "subscription_price":
            unit, rrp = decimal_field(spec, "unit_price"), decimal_field(spec, "rrp")
            book.add_change(Change(on, "subprice", sub_id, unit_price=unit, rrp=rrp))
            factor = 12 if book.offer_of(sub_id).billing_cycle == "Annual" else 1
            changes: dict[str, Any] = {"partnerCost": float((unit or 0) * factor),
                                       "updatedDate": records.iso_datetime(on)}
            if rrp is not None:
                changes["price"] = float(rrp * factor)
            emulator.subscriptions.update(sub_id, changes)
        else:
            queued = book.add_change(credit_change(book, spec, sub_id, on))
            answer.update({"from": f"{queued.period_start}", "to": f"{queued.period_end}", "quantity": queued.quantity})
        return {**answer, "subscriptionId": sub_id}
    if kind in ("price_change", "retire_product"):
        offer_id = str(spec.get("offer") or "")
        pricing = emulator.pricing.get(offer_id)
        if kind == "price_change":
            unit, rrp = decimal_field(spec, "unit_price"), decimal_field(spec, "rrp")
            book.add_change(Change(on, "price", offer_id=offer_id, unit_price=unit, rrp=rrp))
            if pricing is not None and unit is not None:
                factor = 12 if emulator.offers[offer_id].billing_cycle == "Annual" else 1
                rate = pricing["rates"][0]
                rate["partnerBuyRate"] = float(unit * factor)
                if rrp is not None:
                    rate["suggestedRetailPrice"] = float(rrp * factor)
        else:
            book.add_change(Change(on, "retire", offer_id=offer_id))
            if pricing is not None:
                pricing["retired"] = on.isoformat()
        return {**answer, "offer": offer_id}
    if kind == "new_tenant":
        company = emulator.add_company(_new_customer(emulator, spec), _uuid(emulator, "new-company"))
        offer_id = str(spec.get("offer") or emulator.context.world.offers[1].nce_id)
        sub_id = subscribe(emulator, company["id"], offer_id, whole(spec, "quantity", 5), on)
        return {**answer, "companyId": company["id"], "subscriptionId": sub_id}
    if kind == "one_time":
        company_id = _company(emulator, spec)
        return {**answer, "companyId": company_id, **_one_time(emulator, company_id, spec, on)}
    if kind == "usage":
        return {**answer, **_usage(emulator, spec, on)}
    company_id = _company(emulator, spec)
    default = next(o for o in emulator.offers.values() if o.billing_cycle == "Annual")
    offer_id = str(spec.get("offer") or default.nce_id)
    if offer_id in emulator.offers and emulator.offers[offer_id].billing_cycle != "Annual":
        raise ValueError(f"{offer_id} is not billed annually")
    sub_id = subscribe(emulator, company_id, offer_id, whole(spec, "quantity", 3), on)
    return {**answer, "companyId": company_id, "subscriptionId": sub_id}


def _company(emulator: Pax8Emulator, spec: dict[str, Any]) -> str:
    company_id = str(spec.get("company_id") or min(emulator.customer_of_company))
    if company_id not in emulator.customer_of_company:
        raise ValueError(f"unknown company {company_id!r}")
    return company_id


def _one_time(emulator: Pax8Emulator, company_id: str, spec: dict[str, Any], on: date) -> dict[str, Any]:
    """A one-time purchase: its own subscription (``billingTerm`` One-Time) of a product sold once."""
    offer = one_time_offer(spec)
    quantity = whole(spec, "quantity", 1)
    seed = emulator.context.world.seed
    product_id = records.stable_uuid(seed, f"one-time-product:{offer.product_id}:{offer.sku_id}")
    emulator.one_time_products[product_id] = {"id": product_id, "name": offer.name, "vendorName": "Microsoft",
                                              "sku": f"MST-ONE-{offer.product_id[-6:]}-{offer.sku_id}",
                                              "vendorSku": f"{offer.product_id}:{offer.sku_id}"}
    sub_id = _uuid(emulator, "one-time")
    emulator.book.add_one_time_offer(offer)
    emulator.book.add_change(Change(on, "onetime", sub_id, quantity, offer.nce_id, offer.unit_cost, offer.rrp,
                                    customer_key=emulator.customer_of_company[company_id]))
    emulator.subscriptions.insert(records.subscription_record(
        sub_id, company_id, product_id, offer, quantity, on, _uuid(emulator, "vendor-subscription"),
        offer.unit_cost, offer.rrp, seed,
    ))
    return {"subscriptionId": sub_id, "productId": product_id}


def _usage(emulator: Pax8Emulator, spec: dict[str, Any], on: date) -> dict[str, Any]:
    amount = decimal_field(spec, "amount")
    if spec.get("subscription_id") is not None:
        sub_id = str(spec["subscription_id"])
        record = emulator.subscriptions.get(sub_id)
        if record is None:
            raise ValueError(f"unknown subscription {sub_id!r}")
        company_id = record["companyId"]
    else:
        company_id = _company(emulator, spec)
        azure = next(o for o in emulator.offers.values() if o.usage_based)
        sub_id = subscribe(emulator, company_id, azure.nce_id, 1, on)
    if amount is not None:
        emulator.book.add_change(Change(on, "usage", sub_id, unit_price=amount))
    elif not emulator.book.offer_of(sub_id).usage_based:
        raise ValueError(f"subscription {sub_id} is not an Azure plan: it has no usage")
    return {"companyId": company_id, "subscriptionId": sub_id}


def subscribe(emulator: Pax8Emulator, company_id: str, offer_id: str, quantity: int, on: date) -> str:
    if offer_id not in emulator.offers:
        raise ValueError(f"unknown offer {offer_id!r}")
    sub_id = _uuid(emulator, "subscription")
    emulator.book.add_change(Change(on, "subscribe", sub_id, quantity, offer_id,
                                    customer_key=emulator.customer_of_company[company_id]))
    emulator.add_subscription(sub_id, company_id, offer_id, quantity, on, _uuid(emulator, "vendor-subscription"))
    return sub_id


def _uuid(emulator: Pax8Emulator, purpose: str) -> str:
    counter = len(emulator.subscriptions) + len(emulator.companies) + len(emulator.orders)
    rng = random.Random(f"{emulator.context.world.seed}:pax8-new:{purpose}:{counter}")
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _new_customer(emulator: Pax8Emulator, spec: dict[str, Any]) -> Customer:
    number = len(emulator.customer_of_company) + 1
    name = str(spec.get("name") or f"Fresh Start Partners {number}")
    slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20]
    return Customer(index=-number, key=f"PAX8-NEW-{number:03d}", name=name, domain=f"{slug}.example.com",
                    tenant_id=_uuid(emulator, "tenant"), address="2 New St", city="Austin", state="TX",
                    postal_code="73301", phone="+1-555-000-0001", in_psa=False, billing_distributor="pax8")


# -- POST /v1/orders ---------------------------------------------------------------------------
BILLING_TERMS = ("Monthly", "Annual", "2-Year", "3-Year", "One-Time", "Trial", "Activation")


def create_order(emulator: Pax8Emulator, body: Any, *, is_mock: bool) -> SandboxResponse:
    """Validate an order; unless ``isMock``, create one subscription per line, billed from today."""
    if not isinstance(body, dict):
        raise Unprocessable("The order must be a JSON object", [{"message": "body must be an object"}])
    details: list[dict[str, Any]] = []
    company_id = body.get("companyId")
    if not isinstance(company_id, str) or not company_id:
        details.append({"message": "companyId is required", "instance": "companyId"})
    elif company_id not in emulator.customer_of_company:
        details.append({"message": f"company {company_id} not found", "instance": "companyId"})
    lines = body.get("lineItems")
    if not isinstance(lines, list) or not lines:
        details.append({"message": "lineItems must be a non-empty array", "instance": "lineItems"})
        lines = []
    resolved = []
    for index, line in enumerate(lines):
        where = f"lineItems[{index}]"
        if not isinstance(line, dict):
            details.append({"message": "a line item must be an object", "instance": where})
            continue
        for name in ("productId", "billingTerm", "lineItemNumber", "quantity"):
            if line.get(name) is None:
                details.append({"message": f"{name} is required", "instance": f"{where}.{name}"})
        quantity = line.get("quantity")
        if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1):
            details.append({"message": "quantity must be a whole number >= 1", "instance": f"{where}.quantity"})
        term = line.get("billingTerm")
        if term is not None and term not in BILLING_TERMS:
            details.append({"message": f"billingTerm must be one of {', '.join(BILLING_TERMS)}",
                            "instance": f"{where}.billingTerm"})
        product = emulator.products.get(str(line.get("productId")))
        offer_id = _offer_for(emulator, line.get("productId"), term, line.get("commitmentTermId"))
        if product is not None and product["requiresCommitment"] and not line.get("commitmentTermId"):
            details.append({"message": "commitmentTermId is required for this product",
                            "instance": f"{where}.commitmentTermId"})
        elif line.get("productId") is not None and term in BILLING_TERMS and offer_id is None:
            details.append({"message": "no such product / billingTerm / commitment for this partner",
                            "instance": f"{where}.productId"})
        resolved.append((line, offer_id))
    if details:
        raise Unprocessable("The order is invalid", details)
    on = max(emulator.context.clock.now().date(), emulator.book.next_month)
    order: dict[str, Any] = {
        "id": _uuid(emulator, "order"), "companyId": company_id, "createdDate": on.isoformat(),
        "orderedBy": body.get("orderedBy", "Pax8 Partner"), "isScheduled": False, "lineItems": [],
    }
    if body.get("orderedByUserEmail"):
        order["orderedByUserEmail"] = body["orderedByUserEmail"]
    for line, offer_id in resolved:
        assert offer_id is not None
        sub_id = "00000000-0000-4000-8000-000000000000"
        if not is_mock:
            sub_id = subscribe(emulator, str(company_id), offer_id, int(line["quantity"]), on)
        order["lineItems"].append({
            "id": _uuid(emulator, f"order-line:{line['lineItemNumber']}"), "productId": line["productId"],
            "subscriptionId": sub_id, "provisionStartDate": datetime.combine(on, datetime.min.time()).isoformat() + "Z",
            "billingTerm": line["billingTerm"], "quantity": line["quantity"],
        })
    if not is_mock:
        emulator.orders.insert(order)
    return json_response(200, order)


def _offer_for(emulator: Pax8Emulator, product_id: Any, term: Any, commitment_id: Any) -> str | None:
    """The NCE offer an order line means: product + billingTerm (+ commitment: 1-Month or 1-Year)."""
    candidates = [nce for nce, pid in emulator.product_of_offer.items() if pid == product_id]
    for nce in candidates:
        pricing = emulator.pricing.get(nce) or {}
        if pricing.get("retired") or pricing.get("billingTerm") != term:
            continue
        commitment = pricing.get("commitmentTerm")
        wanted = records.stable_uuid(emulator.context.world.seed, f"commitment:{commitment}") if commitment else None
        if commitment_id in (None, wanted):
            return nce
    return None
