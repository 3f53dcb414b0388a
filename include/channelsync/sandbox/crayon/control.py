"""Billing levers of the Crayon emulator: publish the next month, changes within it, API purchases.

``POST /_sandbox/crayon/invoices/publish`` publishes the next unpublished month: one Seat statement
(``ProvisionType`` 1), plus a Usage statement (2) when there is Azure usage and a OneTime statement (3)
when there are one-time purchases. ``POST /_sandbox/crayon/changes`` takes one change or
``{"changes": [...]}``; each change has a ``type`` and ``day`` (of the next unpublished month) or
``date`` (ISO, in or after it):

- ``seat_change``: ``subscription_id``, ``quantity``
- ``cancel``: ``subscription_id``
- ``price_change`` (the price list; subscriptions pay it from their next renewal): ``offer`` (NCE id),
  ``unit_price``, optional ``rrp`` (per seat per month)
- ``subscription_price`` (one subscription, from that day: the rest of its period reversed at the old
  price and charged at the new, two ``cycleCharge`` lines with one ``ReferenceId``): ``subscription_id``,
  ``unit_price``, optional ``rrp`` (per seat per month)
- ``credit`` (a ``customerCredit`` line for a past, invoiced stretch): ``subscription_id``, optional
  ``from`` / ``to`` (ISO dates; default the last invoiced month), ``quantity`` (default the seats now)
- ``one_time`` (a one-time purchase, its own subscription): optional ``tenant_id``, ``name``,
  ``product_id``, ``sku_id``, ``quantity`` (1), ``unit_price`` / ``rrp`` (per unit)
- ``usage`` (the month's Azure plan amount): ``subscription_id`` of an Azure plan, or ``tenant_id`` (a new
  Azure plan from that day); optional ``amount`` (partner cost of the month)
- ``new_tenant``: optional ``name``, ``offer``, ``quantity`` (a customer unknown to the PSAs)
- ``annual_subscription``: optional ``tenant_id``, ``offer`` (an annual-billed NCE id), ``quantity``
- ``retire_product``: ``offer``

Records (subscriptions, price list) change at once; the invoice lines appear when the change's month
is published. ``GET /_sandbox/crayon/billing`` tells the next month and what is pending. Every answer
names what was made (``subscriptionId``, ``tenantId``).
"""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from channelsync.sandbox.billing import (
    CHANGE_TYPES,
    Change,
    change_date,
    credit_change,
    decimal_field,
    month_end,
    one_time_offer,
    whole,
)
from channelsync.sandbox.billing_control import billing_control
from channelsync.sandbox.crayon import records
from channelsync.sandbox.framework import SandboxRequest, SandboxResponse, json_response
from channelsync.sandbox.world import Customer

if TYPE_CHECKING:
    from channelsync.sandbox.crayon.emulator import CrayonEmulator


class BadRequest(Exception):
    """A request the API refuses with 400 in its ``Error`` shape."""

    def __init__(self, message: str, parameters: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.parameters = parameters or {}


def handle_control(emulator: CrayonEmulator, request: SandboxRequest) -> SandboxResponse:
    try:
        shared = billing_control(request, emulator.book, lambda: publish_next(emulator),
                                 lambda item: apply_change(emulator, item))
        if shared is not None:
            return shared
    except (ValueError, TypeError, KeyError) as exc:
        return json_response(400, {"error": str(exc)})
    return json_response(404, {"error": f"no control endpoint {request.method} {request.path} for crayon"})


def publish_next(emulator: CrayonEmulator) -> dict[str, Any]:
    invoice = emulator.book.publish()
    last = month_end(invoice.month)
    published = []
    for provision in (records.PROVISION_SEAT, records.PROVISION_USAGE, records.PROVISION_ONE_TIME):
        lines = [ln for ln in invoice.lines if records.provision_type(ln) == provision]
        if not lines and provision != records.PROVISION_SEAT:
            continue
        total = sum((ln.sub_total for ln in lines), Decimal("0.00"))
        statement_id = emulator.statements.next_id()
        statement = records.statement_record(statement_id, invoice.month, last, provision, total)
        emulator.statements.insert(statement)
        for line in lines:
            subscription = emulator.subscriptions.get(int(line.subscription_key)) or {}
            tenant = emulator.tenants.get(subscription.get("CustomerTenant", {}).get("Id")) or {}
            emulator.lines.insert(records.billing_record(emulator.lines.next_id(), statement_id, line, tenant,
                                                         subscription))
        published.append({**statement, "LineCount": len(lines)})
    return {"month": f"{invoice.month:%Y-%m}", "billingStatements": published}


def apply_change(emulator: CrayonEmulator, spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ValueError("a change is a JSON object with a type")
    kind = spec.get("type")
    if kind not in CHANGE_TYPES:
        raise ValueError(f"unknown change type {kind!r}; expected one of {', '.join(CHANGE_TYPES)}")
    book = emulator.book
    on = change_date(spec, book.next_month)
    answer: dict[str, Any] = {"type": kind, "date": on.isoformat()}
    if kind in ("seat_change", "cancel", "subscription_price", "credit"):
        sub_id = whole(spec, "subscription_id")
        if emulator.subscriptions.get(sub_id) is None:
            raise ValueError(f"unknown subscription {sub_id}")
        if kind == "seat_change":
            quantity = whole(spec, "quantity")
            book.add_change(Change(on, "quantity", str(sub_id), quantity))
            emulator.subscriptions.update(sub_id, {"Quantity": quantity})
        elif kind == "cancel":
            book.add_change(Change(on, "cancel", str(sub_id)))
            emulator.subscriptions.update(sub_id, {"Status": records.STATUS_DELETED, "EndDate": records.iso(on),
                                                   "AutoRenewEnabled": False})
        elif kind == "subscription_price":
            unit, rrp = decimal_field(spec, "unit_price"), decimal_field(spec, "rrp")
            book.add_change(Change(on, "subprice", str(sub_id), unit_price=unit, rrp=rrp))
            _reprice(emulator, sub_id, unit, rrp)
        else:
            queued = book.add_change(credit_change(book, spec, str(sub_id), on))
            answer.update({"from": f"{queued.period_start}", "to": f"{queued.period_end}", "quantity": queued.quantity})
        return {**answer, "subscriptionId": sub_id}
    if kind in ("price_change", "retire_product"):
        offer_id = str(spec.get("offer") or "")
        product = emulator.products.get(records.product_key(offer_id))
        if kind == "price_change":
            unit, rrp = decimal_field(spec, "unit_price"), decimal_field(spec, "rrp")
            book.add_change(Change(on, "price", offer_id=offer_id, unit_price=unit, rrp=rrp))
            if product is not None:
                product["SalesPrice"] = records.price(unit or Decimal(0))
                if rrp is not None:
                    product["RecommendedRetailPrice"] = records.price(rrp)
        else:
            book.add_change(Change(on, "retire", offer_id=offer_id))
            if product is not None:
                product["ProductVariant"]["DeleteDate"] = records.iso(on)
        return {**answer, "offer": offer_id}
    if kind == "new_tenant":
        tenant = emulator.add_tenant(_new_customer(emulator, spec))
        offer_id = str(spec.get("offer") or emulator.context.world.offers[1].nce_id)
        sub_id = _subscribe(emulator, tenant["Id"], offer_id, whole(spec, "quantity", 5), on)
        return {**answer, "tenantId": tenant["Id"], "subscriptionId": sub_id}
    if kind == "one_time":
        tenant_id = _tenant(emulator, spec)
        return {**answer, "tenantId": tenant_id, **_one_time(emulator, tenant_id, spec, on)}
    if kind == "usage":
        return {**answer, **_usage(emulator, spec, on)}
    # annual_subscription
    tenant_id = _tenant(emulator, spec)
    default = next(o for o in emulator.offers.values() if o.billing_cycle == "Annual")
    offer_id = str(spec.get("offer") or default.nce_id)
    if offer_id in emulator.offers and emulator.offers[offer_id].billing_cycle != "Annual":
        raise ValueError(f"{offer_id} is not billed annually")
    sub_id = _subscribe(emulator, tenant_id, offer_id, whole(spec, "quantity", 3), on)
    return {**answer, "tenantId": tenant_id, "subscriptionId": sub_id}


def _tenant(emulator: CrayonEmulator, spec: dict[str, Any]) -> int:
    tenant_id = whole(spec, "tenant_id", min(emulator.customer_by_tenant))
    if tenant_id not in emulator.customer_by_tenant:
        raise ValueError(f"unknown tenant {tenant_id}")
    return tenant_id


def _reprice(emulator: CrayonEmulator, sub_id: int, unit: Decimal | None, rrp: Decimal | None) -> None:
    record = emulator.subscriptions.get(sub_id) or {}
    pricing = dict(record.get("Pricing") or {})
    pricing["PurchasePrice"] = float(unit or 0)
    if rrp is not None:
        pricing["RecommendedRetailPrice"] = float(rrp)
    emulator.subscriptions.update(sub_id, {"SalesPrice": float(unit or 0), "PriceType": 3,  # FixedPrice
                                           "Pricing": pricing})


def _one_time(emulator: CrayonEmulator, tenant_id: int, spec: dict[str, Any], on: date) -> dict[str, Any]:
    offer = one_time_offer(spec)
    quantity = whole(spec, "quantity", 1)
    sub_id = emulator.subscriptions.next_id()
    emulator.book.add_one_time_offer(offer)
    emulator.book.add_change(Change(on, "onetime", str(sub_id), quantity, offer.nce_id, offer.unit_cost, offer.rrp,
                                    customer_key=emulator.customer_by_tenant[tenant_id]))
    emulator.subscriptions.insert(records.subscription_record(
        sub_id, tenant_id, offer, quantity, on, _publisher_id(emulator, sub_id), offer.unit_cost, offer.rrp,
        emulator.context.clock.now().replace(tzinfo=None),
    ))
    return {"subscriptionId": sub_id, "partNumber": offer.nce_id}


def _usage(emulator: CrayonEmulator, spec: dict[str, Any], on: date) -> dict[str, Any]:
    amount = decimal_field(spec, "amount")
    if spec.get("subscription_id") is not None:
        sub_id = whole(spec, "subscription_id")
        if emulator.subscriptions.get(sub_id) is None:
            raise ValueError(f"unknown subscription {sub_id}")
        tenant_id = emulator.subscriptions.get(sub_id)["CustomerTenant"]["Id"]  # type: ignore[index]
    else:
        tenant_id = _tenant(emulator, spec)
        azure = next(o for o in emulator.offers.values() if o.usage_based)
        sub_id = _subscribe(emulator, tenant_id, azure.nce_id, 1, on)
    if amount is not None:
        emulator.book.add_change(Change(on, "usage", str(sub_id), unit_price=amount))
    elif not emulator.book.offer_of(str(sub_id)).usage_based:
        raise ValueError(f"subscription {sub_id} is not an Azure plan: it has no usage")
    return {"tenantId": tenant_id, "subscriptionId": sub_id}


def _subscribe(emulator: CrayonEmulator, tenant_id: int, offer_id: str, quantity: int, on: date) -> int:
    if offer_id not in emulator.offers:
        raise ValueError(f"unknown offer {offer_id!r}")
    sub_id = emulator.subscriptions.next_id()  # the book validates before the record exists
    customer_key = emulator.customer_by_tenant[tenant_id]
    emulator.book.add_change(Change(on, "subscribe", str(sub_id), quantity, offer_id, customer_key=customer_key))
    emulator.add_subscription(tenant_id, emulator.offers[offer_id], quantity, on, sub_id=sub_id,
                              publisher_sub_id=_publisher_id(emulator, sub_id))
    return sub_id


def _publisher_id(emulator: CrayonEmulator, sub_id: int) -> str:
    rng = random.Random(f"{emulator.context.world.seed}:crayon-sub:{sub_id}")
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _new_customer(emulator: CrayonEmulator, spec: dict[str, Any]) -> Customer:
    number = len(emulator.customer_by_tenant) + 1
    rng = random.Random(f"{emulator.context.world.seed}:crayon-new-tenant:{number}")
    name = str(spec.get("name") or f"Newfound Ventures {number}")
    slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20]
    return Customer(
        index=-number, key=f"CRAYON-NEW-{number:03d}", name=name, domain=f"{slug}.example.com",
        tenant_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), address="1 New St", city="Denver",
        state="CO", postal_code="80202", phone="+1-555-000-0000", in_psa=False, billing_distributor="crayon",
    )


def api_purchase(emulator: CrayonEmulator, body: dict[str, Any]) -> SandboxResponse:
    """``POST /Subscriptions``: an NCE purchase, billed from today (sandbox clock). ``body``'s property
    names are lower-cased (read case-insensitively, as ASP.NET binds them)."""
    names = {"customertenant": "CustomerTenant", "partnumber": "PartNumber", "quantity": "Quantity"}
    missing = [wire for name, wire in names.items() if body.get(name) in (None, "", {})]
    if missing:
        raise BadRequest("Required fields are missing", {name: f"The {name} field is required." for name in missing})
    tenant = body["customertenant"]
    quantity = body["quantity"]
    if not isinstance(tenant, dict) or not isinstance(tenant.get("id"), int) or isinstance(tenant.get("id"), bool):
        raise BadRequest("CustomerTenant.Id must be an integer", {"CustomerTenant.Id": "An integer is required."})
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise BadRequest("Quantity must be a positive integer", {"Quantity": "A positive integer is required."})
    if tenant["id"] not in emulator.customer_by_tenant:
        raise BadRequest(f"Customer tenant {tenant['id']} was not found", {"CustomerTenant.Id": "Not found."})
    part_number = str(body["partnumber"])
    product = emulator.products.get(records.product_key(part_number))
    if product is None or product["ProductVariant"].get("DeleteDate"):
        raise BadRequest(f"Product {part_number} is not available", {"PartNumber": "Unknown or retired product."})
    try:
        sub_id = _subscribe(emulator, tenant["id"], part_number, quantity, _effective_day(emulator))
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    return json_response(200, emulator.subscriptions.get(sub_id))


def api_update(emulator: CrayonEmulator, sub_id: int, body: dict[str, Any]) -> SandboxResponse:
    """``PUT /Subscriptions/{id}``: a seat change from today (only ``Quantity`` is honoured; ``body``'s
    property names are lower-cased)."""
    record = emulator.subscriptions.get(sub_id)
    if record is None:
        return json_response(404, {"ErrorCode": "404 NotFound", "Message": f"No subscription with id {sub_id}",
                                   "Parameters": {}, "ObjectErrors": []})
    quantity = body.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise BadRequest("Quantity must be a positive integer", {"Quantity": "A positive integer is required."})
    if quantity != record["Quantity"]:
        try:
            emulator.book.add_change(Change(_effective_day(emulator), "quantity", str(sub_id), quantity))
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        emulator.subscriptions.update(sub_id, {"Quantity": quantity})
    return json_response(200, emulator.subscriptions.get(sub_id))


def _effective_day(emulator: CrayonEmulator) -> date:
    today = emulator.context.clock.now().date()
    return max(today, emulator.book.next_month)


def reconciliation_csv(lines: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _ in records.RECONCILIATION_COLUMNS])
    for line in lines:
        writer.writerow([getter(line) for _, getter in records.RECONCILIATION_COLUMNS])  # type: ignore[no-untyped-call]
    return out.getvalue()
