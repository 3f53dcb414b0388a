"""Crayon Customer API v1 records in wire shape (camelCase, as the OpenAPI spec's schemas).

Assumptions, where the public sources disagree or are silent:
- Casing: the spec (Swashbuckle output) is camelCase; older user code reads PascalCase. The sandbox
  follows the spec and the client matches keys case-insensitively, so both work.
- ``partNumber`` carries the full NCE id ``ProductId:SkuId:Term:BillingCycle`` (one price-list row per
  term and billing cycle); ``publisherProductId`` carries Microsoft's ``ProductId:SkuId``.
- ``salesPrice`` / ``recommendedRetailPrice`` are per seat per month; ``monthMultiplier`` is the number
  of months one charge period covers (12 for annual billing).
- A cancelled subscription has status 4 (Deleted): the spec's enum has no 128 (Cancelled).
- Invoice lines ("billing records") have no schema in the spec (the file endpoint returns them base64
  encoded): fields follow the SDK's billing-record models and the PRISM invoice CSV columns.
"""

from __future__ import annotations

import zlib
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from channelsync.sandbox.billing import InvoiceLine, add_months
from channelsync.sandbox.world import CloudOffer, Customer

PUBLISHER = {"id": 2, "name": "Microsoft"}
PROGRAM = {"id": 11, "name": "Microsoft Cloud Solution Provider (CSP)"}
ORGANIZATION = {"id": 4401, "name": "Channelsync Demo MSP", "parentId": 0,
                "crayonCompanyName": "Crayon US", "accountNumber": "CUS-4401"}
INVOICE_PROFILE = {"id": 880001, "name": "Default"}
AGREEMENT = {"id": 7100, "name": "Microsoft CSP Indirect"}
CURRENCY = "USD"

# BillingCycleEnum (C# SDK): Monthly 1, Annual 2, None 3.
BILLING_CYCLE = {"Monthly": 1, "Annual": 2, "None": 3}
STATUS_ACTIVE, STATUS_DELETED = 1, 4
PROVISION_SEAT, PROVISION_USAGE = 1, 2


def iso(day: date | datetime) -> str:
    when = day if isinstance(day, datetime) else datetime.combine(day, time())
    return when.strftime("%Y-%m-%dT%H:%M:%S") + "Z" if when.tzinfo is None else when.isoformat()


def price(value: Decimal) -> dict[str, Any]:
    return {"value": float(value), "currencyCode": CURRENCY}


def tenant_record(tenant_id: int, customer: Customer) -> dict[str, Any]:
    prefix = customer.domain.split(".")[0][:27]
    return {
        "id": tenant_id,
        "name": customer.name,
        "publisher": PUBLISHER,
        "program": PROGRAM,
        "publisherCustomerId": customer.tenant_id,
        "externalPublisherCustomerId": customer.tenant_id,
        "domain": f"{prefix}.onmicrosoft.com",
        "domainPrefix": prefix,
        "reference": customer.key,  # the cross-system customer key, as an MSP types it into "Reference"
        "customerTenantType": 2,  # T2: a reseller's customer
        "entityStatus": 1,
        "organization": ORGANIZATION,
        "invoiceProfile": INVOICE_PROFILE,
        "resellerMarkup": 0.0,
        "defaultSubscriptionPriceType": 1,
    }


def subscription_record(
    sub_id: int, tenant_id: int, offer: CloudOffer, quantity: int, start: date, publisher_sub_id: str,
    unit_price: Decimal, rrp: Decimal, created: datetime,
) -> dict[str, Any]:
    # Co-termed to a month end (see channelsync.sandbox.billing): the first term ends on the last day
    # of the month before the anniversary.
    end = add_months(start, 1 if offer.term == "P1M" else 12) - timedelta(days=1)
    usage = offer.usage_based
    return {
        "id": sub_id,
        "publisherSubscriptionId": publisher_sub_id,
        "entitlementId": publisher_sub_id if usage else None,
        "publisher": PUBLISHER,
        "organization": {"id": ORGANIZATION["id"], "name": ORGANIZATION["name"]},
        "customerTenant": {"id": tenant_id},
        "product": {"id": 900000 + zlib.crc32(offer.nce_id.encode()) % 90000, "partNumber": offer.nce_id,
                    "publisherProductId": f"{offer.product_id}:{offer.sku_id}",
                    "itemLegalName": offer.name, "itemName": offer.name},
        "quantity": quantity,
        "name": offer.name,
        "status": STATUS_ACTIVE,
        "provisionType": PROVISION_USAGE if usage else PROVISION_SEAT,
        "availableAddonsCount": 0,
        "subscriptions": [],
        "orderId": f"CO-{sub_id}",
        "creationDate": iso(created),
        "billingCycle": BILLING_CYCLE[offer.billing_cycle],
        "markup": 0.0,
        "isTrial": False,
        "startDate": iso(start),
        "endDate": None if usage else iso(end),
        "priceType": 1,
        "salesPrice": float(unit_price),
        "registeredForReservedInstance": False,
        "invoiceProfile": INVOICE_PROFILE,
        "acceptAutoSuspension": None,
        "autoSuspensionDate": None,
        "partNumber": offer.nce_id,
        "termDuration": None if usage else offer.term,
        "autoRenewEnabled": not usage,
        # SubscriptionDetailed fields (GET /Subscriptions/{id} answers with the detailed shape).
        "effectiveStartDate": iso(start),
        "commitmentEndDate": iso(end) if not usage else iso(start),
        "pricing": {"currencyCode": CURRENCY, "purchasePrice": float(unit_price),
                    "recommendedRetailPrice": float(rrp)},
    }


SUBSCRIPTION_LIST_FIELDS = (
    "id", "publisherSubscriptionId", "entitlementId", "publisher", "organization", "customerTenant", "product",
    "quantity", "name", "status", "provisionType", "availableAddonsCount", "subscriptions", "orderId",
    "creationDate", "billingCycle", "markup", "isTrial", "startDate", "endDate", "priceType", "salesPrice",
    "registeredForReservedInstance", "invoiceProfile", "acceptAutoSuspension", "autoSuspensionDate",
    "partNumber", "termDuration", "autoRenewEnabled",
)


def subscription_summary(record: dict[str, Any]) -> dict[str, Any]:
    """The list shape (``Subscription``) of a stored detailed record."""
    return {key: record[key] for key in SUBSCRIPTION_LIST_FIELDS if key in record}


def agreement_product_record(index: int, offer: CloudOffer, unit_price: Decimal, rrp: Decimal) -> dict[str, Any]:
    cycle = BILLING_CYCLE[offer.billing_cycle]
    return {
        "uniqueId": f"{AGREEMENT['id']}-{offer.nce_id}",
        "productType": 1,
        "productVariant": {
            "id": 610000 + index,
            "product": {"id": 600000 + index, "partNumber": f"{offer.product_id}:{offer.sku_id}",
                        "publisherProductId": f"{offer.product_id}:{offer.sku_id}",
                        "itemLegalName": offer.name, "itemName": offer.name},
            "partNumber": offer.nce_id,
            "productName": offer.name,
            "publisher": PUBLISHER,
            "program": PROGRAM,
            "productFamily": {"id": 30 if offer.usage_based else 31,
                              "name": "Azure" if offer.usage_based else "Microsoft 365"},
            "purchaseUnit": "Usage" if offer.usage_based else "Licenses",
            "purchasePeriod": offer.term,
            "addDate": "2023-01-01T00:00:00Z",
            "productCategory": "Azure" if offer.usage_based else "NCE",
            "region": "US",
            "isTrial": False,
            "defaultBillingCycleId": cycle,
            "availableBillingCycleIds": [cycle],
            "minimumQuantity": 1.0,
        },
        "agreement": AGREEMENT,
        "name": offer.name,
        "priceId": 700000 + index,
        "recommendedRetailPrice": price(rrp),
        "salesPrice": price(unit_price),
        "priceListName": "CSP NCE USD",
        "monthMultiplier": 12 if offer.billing_cycle == "Annual" else 1,
        "priceCalculationType": 0,
        "agreementType": 4,
        "minimumQuantity": 1,
        "maximumQuantity": None if offer.usage_based else 300,
        "catalog": {"id": 1, "name": "Microsoft CSP"},
    }


def statement_record(statement_id: int, month: date, month_last: date, provision_type: int,
                     total: Decimal) -> dict[str, Any]:
    return {
        "id": statement_id,
        "totalSalesPrice": price(total),
        "invoiceProfile": INVOICE_PROFILE,
        "organization": {"id": ORGANIZATION["id"], "name": ORGANIZATION["name"]},
        "startDate": iso(month),
        "endDate": iso(month_last),
        "provisionType": provision_type,
        "orderId": f"CSP-{month:%Y%m}-{provision_type}",
    }


def billing_record(line_id: int, statement_id: int, line: InvoiceLine, tenant: dict[str, Any],
                   subscription: dict[str, Any]) -> dict[str, Any]:
    offer = line.offer
    return {
        "id": line_id,
        "billingStatementId": statement_id,
        "organizationName": ORGANIZATION["name"],
        "periodYear": line.charge_start.year if line.charge_type != "usage" else line.charge_end.year,
        "periodMonth": line.charge_start.month if line.charge_type != "usage" else line.charge_end.month,
        "customerTenant": {"id": tenant["id"], "name": tenant["name"],
                           "publisherCustomerTenantId": tenant["publisherCustomerId"],
                           "reference": tenant["reference"], "domain": tenant["domain"]},
        "subscription": {"id": subscription["id"], "name": subscription["name"],
                         "publisherSubscriptionId": subscription["publisherSubscriptionId"],
                         "startDate": subscription["startDate"], "endDate": subscription["endDate"]},
        "product": {"partNumber": offer.nce_id, "invoicePartNumber": f"{offer.product_id}:{offer.sku_id}",
                    "itemName": offer.name, "productFamilyName": subscription["name"],
                    "productCategoryName": "Azure" if offer.usage_based else "NCE"},
        "offerName": offer.name,
        "termDuration": None if offer.usage_based else offer.term,
        "billingCycle": offer.billing_cycle,
        "chargeType": line.charge_type,
        "chargeStartDate": line.charge_start.isoformat(),
        "chargeEndDate": line.charge_end.isoformat(),
        "quantity": line.quantity,
        "unit": "Usage" if offer.usage_based else "Licenses",
        "unitPrice": float(line.unit_price),
        "unitPriceRrp": float(line.unit_rrp),
        "billableRatio": float(line.billable_ratio),
        "daysBilled": line.days_billed,
        "daysInPeriod": line.days_in_period,
        "subTotal": float(line.sub_total),
        "subTotalRrp": float(line.sub_total_rrp),
        "currency": CURRENCY,
    }


# PRISM invoice CSV columns (docs/vendors/crayon.md §2.1) plus the identifiers a reconciler needs.
RECONCILIATION_COLUMNS = (
    ("CustomerTenantId", lambda r: r["customerTenant"]["id"]),
    ("CustomerName", lambda r: r["customerTenant"]["name"]),
    ("TenantReference", lambda r: r["customerTenant"]["reference"]),
    ("PublisherCustomerId", lambda r: r["customerTenant"]["publisherCustomerTenantId"]),
    ("SubscriptionId", lambda r: r["subscription"]["id"]),
    ("PublisherSubscriptionId", lambda r: r["subscription"]["publisherSubscriptionId"]),
    ("ProductId", lambda r: r["product"]["partNumber"]),
    ("OfferName", lambda r: r["offerName"]),
    ("ChargeType", lambda r: r["chargeType"]),
    ("ChargeStartDate", lambda r: r["chargeStartDate"]),
    ("ChargeEndDate", lambda r: r["chargeEndDate"]),
    ("Quantity", lambda r: r["quantity"]),
    ("UnitPrice", lambda r: f"{Decimal(str(r['unitPrice'])):.2f}"),
    ("UnitPriceRrp", lambda r: f"{Decimal(str(r['unitPriceRrp'])):.2f}"),
    ("BillableRatio", lambda r: f"{Decimal(str(r['billableRatio'])):.6f}"),
    ("SubTotal", lambda r: f"{Decimal(str(r['subTotal'])):.2f}"),
    ("SubTotalRrp", lambda r: f"{Decimal(str(r['subTotalRrp'])):.2f}"),
    ("Currency", lambda r: r["currency"]),
)
