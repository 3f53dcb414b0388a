"""Ion customers (token paging), cloud profiles and subscriptions (offset paging ``pagination.limit`` /
``pagination.offset``), drawn from the world's customers billed through TD SYNNEX.

ASSUMPTION: ``subscriptionStatus`` is sent upper-case (``ACTIVE``), as the schema's enum says; sample
responses in the wild show lower-case values.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from channelsync.sandbox.framework import SandboxRequest
from channelsync.sandbox.tdsynnex.ion_catalog import mfg_part_number
from channelsync.sandbox.tdsynnex.ion_common import int_arg, page, page_window
from channelsync.sandbox.world import World

PARTNER_NAME = "Channelsync Demo MSP"


def customer_id(index: int) -> str:
    return str(10001 + index)


def customer_records(account_id: str, world: World) -> list[dict[str, Any]]:
    out = []
    for c in world.customers:
        if c.billing_distributor != "tdsynnex":
            continue
        cid = customer_id(c.index)
        out.append({
            "name": f"accounts/{account_id}/customers/{cid}", "customerOrganization": c.name,
            "customerAddress": {"street": c.address, "city": c.city, "state": c.state, "zip": c.postal_code,
                                "country": "US"},
            "customerName": f"Admin {c.name.split()[0]}", "customerEmail": f"admin@{c.domain}",
            "customerPhone": c.phone, "createTime": "2024-03-01T09:00:00Z", "updateTime": "2024-03-01T09:00:00Z",
            "languageCode": "en-US", "uid": c.key, "customerStatus": "ACTIVE",
            "_id": cid, "_tenantId": c.tenant_id, "_domain": c.domain,
        })
    return out


def wire(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def list_customers(request: SandboxRequest, customers: list[dict[str, Any]]) -> dict[str, Any]:
    offset, size = page_window(request)
    name = (request.arg("filter.customerName") or "").lower()
    email = (request.arg("filter.customerEmail") or "").lower()
    status = request.arg("filter.customerStatus") or ""
    rows = [c for c in customers
            if (not name or name in c["customerOrganization"].lower())
            and (not email or email == c["customerEmail"].lower())
            and (status in ("", "CUSTOMER_STATUS_UNSPECIFIED") or status == c["customerStatus"])]
    chunk, next_token = page(rows, offset, size)
    return {"customers": [wire(c) for c in chunk], "nextPageToken": next_token}


def cloud_profiles(customer: dict[str, Any]) -> dict[str, Any]:
    return {"customerId": customer["_id"], "customerOrganization": customer["customerOrganization"],
            "customerCloudProfiles": [{
                "providerId": "30", "displayName": "Microsoft", "shortName": "MS", "enabled": True,
                "customerTenantId": customer["_tenantId"], "customerDomain": customer["_domain"],
                "allowDelegatedAccess": True, "gdapStatus": "ACTIVE", "gdapLevel": "GDAP",
                "gdapRoles": ["User Administrator", "License Administrator"], "agreementStatus": "ACCEPTED"}]}


def _iso(day: Any) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def subscription_records(account_id: str, world: World, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ion_ids = {p["_microsoftProductId"]: p["id"] for p in products}
    customers = {c.index: c for c in world.customers if c.billing_distributor == "tdsynnex"}
    out = []
    for number, sub in enumerate(world.seat_subscriptions):
        customer = customers.get(sub.customer_index)
        if customer is None:
            continue
        offer = sub.offer
        term_days = 365 if offer.term == "P1Y" else 30
        end = sub.start + timedelta(days=term_days)
        price = offer.rrp if offer.billing_cycle != "Annual" else offer.rrp * 12
        cost = offer.unit_cost if offer.billing_cycle != "Annual" else offer.unit_cost * 12
        out.append({
            "id": str(700001 + number), "customerId": customer_id(customer.index), "resellerId": account_id,
            "cloudProviderId": "30", "subscriptionId": sub.subscription_id, "subscriptionName": offer.name,
            "resourceType": "AZURE::Subscription" if offer.usage_based else "AZURE::CustomerEntitlement",
            "ccpProductId": ion_ids.get(offer.product_id, ""), "ccpSkuId": offer.sku_id,
            "ccpPlanId": mfg_part_number(offer), "subscriptionProductId": offer.product_id,
            "subscriptionSkuId": offer.sku_id, "subscriptionOfferId": f"{offer.product_id}:{offer.sku_id}",
            "subscriptionTotalLicenses": str(sub.quantity), "unitType": "Licenses", "subscriptionStatus": "ACTIVE",
            "subscriptionPurchasedDate": _iso(sub.start), "subscriptionStartDate": _iso(sub.start),
            "subscriptionEndDate": _iso(end), "cancellationAllowedUntilDate": _iso(sub.start + timedelta(days=7)),
            "subscriptionBillingType": "usage" if offer.usage_based else "license",
            "subscriptionBillingCycle": offer.billing_cycle.lower(), "subscriptionBillingTerm": offer.term,
            "subscriptionRenewStatus": "ENABLED", "billingCurrency": "USD",
            "customerPO": "", "resellerPO": "",
            "ccpProductInfo": {"productId": ion_ids.get(offer.product_id, ""), "productDisplayName": offer.name,
                               "skuId": offer.sku_id, "skuDisplayName": offer.name,
                               "planId": mfg_part_number(offer),
                               "planDisplayName": f"{offer.term} {offer.billing_cycle}"},
            "isTrial": False, "autoRenew": True, "customerName": customer.name, "partnerName": PARTNER_NAME,
            "lastUpdatedDate": _iso(sub.start), "price": float(price), "cost": float(cost), "currency": "USD",
            "margin": float(Decimal(price) - Decimal(cost)), "msrp": float(price), "renewalDate": _iso(end),
            "cloudProviderName": "Microsoft", "mfgPartNumber": mfg_part_number(offer),
        })
    return out


def list_subscriptions(request: SandboxRequest, subscriptions: list[dict[str, Any]]) -> dict[str, Any]:
    limit = int_arg(request, "pagination.limit", 100) or 100
    offset = int_arg(request, "pagination.offset", 0) or 0
    customer = request.arg("customerId") or ""
    status = (request.arg("subscriptionStatus") or "").upper()
    rows = [s for s in subscriptions
            if (not customer or s["customerId"] == customer) and (not status or s["subscriptionStatus"] == status)]
    order = (request.arg("pagination.sortOrder") or "ASC").upper()
    if order == "DESC":
        rows = list(reversed(rows))
    chunk, _ = page(rows, max(offset, 0), max(1, min(limit, 1000)))
    return {"totalCount": str(len(rows)), "items": chunk, "paginationResponse": {"totalSize": len(rows)}}
