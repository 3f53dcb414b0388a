"""Billing levers of the Crayon emulator: publish the next month, mid-month changes, API purchases.

``POST /_sandbox/crayon/invoices/publish`` publishes the next unpublished month (one Seat statement,
and one Usage statement when there is Azure usage). ``POST /_sandbox/crayon/changes`` takes one change
or ``{"changes": [...]}``; each change has a ``type`` and ``day`` (of the next unpublished month) or
``date``:

- ``seat_change``: ``subscription_id``, ``quantity``
- ``cancel``: ``subscription_id``
- ``price_change``: ``offer`` (NCE id), ``unit_price``, optional ``rrp`` (per seat per month)
- ``new_tenant``: optional ``name``, ``offer``, ``quantity`` (a customer unknown to the PSAs)
- ``annual_subscription``: optional ``tenant_id``, ``offer`` (an annual-billed NCE id), ``quantity``
- ``retire_product``: ``offer``

Records (subscriptions, price list) change at once; the invoice lines appear when the change's month
is published. ``GET /_sandbox/crayon/billing`` tells the next month and what is pending.
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
    decimal_field,
    month_end,
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
    for provision in (records.PROVISION_SEAT, records.PROVISION_USAGE):
        lines = [ln for ln in invoice.lines if (ln.charge_type == "usage") == (provision == records.PROVISION_USAGE)]
        if not lines and provision == records.PROVISION_USAGE:
            continue
        total = sum((ln.sub_total for ln in lines), Decimal("0.00"))
        statement_id = emulator.statements.next_id()
        statement = records.statement_record(statement_id, invoice.month, last, provision, total)
        emulator.statements.insert(statement)
        for line in lines:
            subscription = emulator.subscriptions.get(int(line.subscription_key)) or {}
            tenant = emulator.tenants.get(subscription.get("customerTenant", {}).get("id")) or {}
            emulator.lines.insert(records.billing_record(emulator.lines.next_id(), statement_id, line, tenant,
                                                         subscription))
        published.append({**statement, "lineCount": len(lines)})
    return {"month": f"{invoice.month:%Y-%m}", "billingStatements": published}


def apply_change(emulator: CrayonEmulator, spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ValueError("a change is a JSON object with a type")
    kind = spec.get("type")
    if kind not in CHANGE_TYPES:
        raise ValueError(f"unknown change type {kind!r}; expected one of {', '.join(CHANGE_TYPES)}")
    book = emulator.book
    on = change_date(spec, book.next_month)
    if kind in ("seat_change", "cancel"):
        sub_id = whole(spec, "subscription_id")
        record = emulator.subscriptions.get(sub_id)
        if record is None:
            raise ValueError(f"unknown subscription {sub_id}")
        if kind == "seat_change":
            quantity = whole(spec, "quantity")
            book.add_change(Change(on, "quantity", str(sub_id), quantity))
            emulator.subscriptions.update(sub_id, {"quantity": quantity})
        else:
            book.add_change(Change(on, "cancel", str(sub_id)))
            emulator.subscriptions.update(sub_id, {"status": records.STATUS_DELETED, "endDate": records.iso(on),
                                                   "autoRenewEnabled": False})
        return {"type": kind, "date": on.isoformat(), "subscriptionId": sub_id}
    if kind in ("price_change", "retire_product"):
        offer_id = str(spec.get("offer") or "")
        product = emulator.products.get(f"{records.AGREEMENT['id']}-{offer_id}")
        if kind == "price_change":
            unit, rrp = decimal_field(spec, "unit_price"), decimal_field(spec, "rrp")
            book.add_change(Change(on, "price", offer_id=offer_id, unit_price=unit, rrp=rrp))
            if product is not None:
                product["salesPrice"] = records.price(unit or Decimal(0))
                if rrp is not None:
                    product["recommendedRetailPrice"] = records.price(rrp)
        else:
            book.add_change(Change(on, "retire", offer_id=offer_id))
            if product is not None:
                product["productVariant"]["deleteDate"] = records.iso(on)
        return {"type": kind, "date": on.isoformat(), "offer": offer_id}
    if kind == "new_tenant":
        tenant = emulator.add_tenant(_new_customer(emulator, spec))
        offer_id = str(spec.get("offer") or emulator.context.world.offers[1].nce_id)
        sub_id = _subscribe(emulator, tenant["id"], offer_id, whole(spec, "quantity", 5), on)
        return {"type": kind, "date": on.isoformat(), "tenantId": tenant["id"], "subscriptionId": sub_id}
    # annual_subscription
    tenant_id = whole(spec, "tenant_id", min(emulator.customer_by_tenant))
    if tenant_id not in emulator.customer_by_tenant:
        raise ValueError(f"unknown tenant {tenant_id}")
    default = next(o for o in emulator.offers.values() if o.billing_cycle == "Annual")
    offer_id = str(spec.get("offer") or default.nce_id)
    if offer_id in emulator.offers and emulator.offers[offer_id].billing_cycle != "Annual":
        raise ValueError(f"{offer_id} is not billed annually")
    sub_id = _subscribe(emulator, tenant_id, offer_id, whole(spec, "quantity", 3), on)
    return {"type": kind, "date": on.isoformat(), "tenantId": tenant_id, "subscriptionId": sub_id}


def _subscribe(emulator: CrayonEmulator, tenant_id: int, offer_id: str, quantity: int, on: date) -> int:
    if offer_id not in emulator.offers:
        raise ValueError(f"unknown offer {offer_id!r}")
    sub_id = emulator.subscriptions.next_id()  # the book validates before the record exists
    customer_key = emulator.customer_by_tenant[tenant_id]
    emulator.book.add_change(Change(on, "subscribe", str(sub_id), quantity, offer_id, customer_key=customer_key))
    rng = random.Random(f"{emulator.context.world.seed}:crayon-sub:{sub_id}")
    emulator.add_subscription(tenant_id, offer_id, quantity, on, sub_id=sub_id,
                              publisher_sub_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    return sub_id


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
    """``POST /Subscriptions``: an NCE purchase, billed from today (sandbox clock)."""
    missing = [name for name in ("customerTenant", "partNumber", "quantity") if body.get(name) in (None, "", {})]
    if missing:
        raise BadRequest("Required fields are missing", {name: f"The {name} field is required." for name in missing})
    tenant = body["customerTenant"]
    quantity = body["quantity"]
    if not isinstance(tenant, dict) or not isinstance(tenant.get("id"), int) or isinstance(tenant.get("id"), bool):
        raise BadRequest("customerTenant.id must be an integer", {"customerTenant.id": "An integer is required."})
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise BadRequest("quantity must be a positive integer", {"quantity": "A positive integer is required."})
    if tenant["id"] not in emulator.customer_by_tenant:
        raise BadRequest(f"Customer tenant {tenant['id']} was not found", {"customerTenant.id": "Not found."})
    part_number = str(body["partNumber"])
    product = emulator.products.get(f"{records.AGREEMENT['id']}-{part_number}")
    if product is None or product["productVariant"].get("deleteDate"):
        raise BadRequest(f"Product {part_number} is not available", {"partNumber": "Unknown or retired product."})
    try:
        sub_id = _subscribe(emulator, tenant["id"], part_number, quantity, _effective_day(emulator))
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    return json_response(200, emulator.subscriptions.get(sub_id))


def api_update(emulator: CrayonEmulator, sub_id: int, body: dict[str, Any]) -> SandboxResponse:
    """``PUT /Subscriptions/{id}``: a seat change from today (only ``quantity`` is honoured)."""
    record = emulator.subscriptions.get(sub_id)
    if record is None:
        return json_response(404, {"errorCode": "404 NotFound", "message": f"No subscription with id {sub_id}",
                                   "parameters": {}, "objectErrors": []})
    quantity = body.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise BadRequest("quantity must be a positive integer", {"quantity": "A positive integer is required."})
    if quantity != record["quantity"]:
        try:
            emulator.book.add_change(Change(_effective_day(emulator), "quantity", str(sub_id), quantity))
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        emulator.subscriptions.update(sub_id, {"quantity": quantity})
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
