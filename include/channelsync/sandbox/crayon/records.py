"""Crayon Customer API v1 records in wire shape: the spec's schemas, with PascalCase property names.

Casing (docs/vendors/crayon.md §2.2): the published OpenAPI (Swashbuckle output) writes camelCase, but
the live API answers PascalCase — the token (``AccessToken``, ``ExpiresIn``), the list envelope
(``Items``, ``TotalHits``), errors (``ErrorCode``) and every resource field — as working user code reads
it (blastomussa/crayon-python-sdk: ``tokenData['AccessToken']``, ``response['Items']``,
``r['ProductVariant']['Product']['ItemLegalName']``, ``new_tenant["Tenant"]["Id"]``) and the official
SDK's models name it. The store holds records exactly as they go on the wire; the spec's schemas are
applied after camel-casing the names (tests do so).

Assumptions, where the public sources disagree or are silent:
- ``PartNumber`` carries the full NCE id ``ProductId:SkuId:Term:BillingCycle`` (one price-list row per
  term and billing cycle); ``PublisherProductId`` carries Microsoft's ``ProductId:SkuId``.
- ``SalesPrice`` / ``RecommendedRetailPrice`` are per seat per month; ``MonthMultiplier`` is the number
  of months one charge period covers (12 for annual billing).
- A cancelled subscription has status 4 (Deleted): the spec's enum has no 128 (Cancelled).
- Invoice lines ("billing records") have no schema in the spec (the file endpoint returns them base64
  encoded): fields follow the SDK's billing-record models and the PRISM invoice CSV columns, plus
  ``ReferenceId`` (Microsoft's, linking the lines of one change) and ``DaysBilled`` / ``DaysInPeriod``.
- One-time purchases: a subscription with ``BillingCycle`` 4 (OneTime) and ``ProvisionType`` 3
  (OneTime); its line is ``ChargeType`` ``new`` (as Microsoft's one-time purchases) with ``BillingCycle``
  ``OneTime``, on a statement of ``ProvisionType`` 3.
"""

from __future__ import annotations

import zlib
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from channelsync.sandbox.billing import ONE_TIME, ONE_TIME_CYCLE, USAGE, InvoiceLine, add_months
from channelsync.sandbox.world import CloudOffer, Customer

PUBLISHER = {"Id": 2, "Name": "Microsoft"}
PROGRAM = {"Id": 11, "Name": "Microsoft Cloud Solution Provider (CSP)"}
ORGANIZATION = {"Id": 4401, "Name": "Channelsync Demo MSP", "ParentId": 0,
                "CrayonCompanyName": "Crayon US", "AccountNumber": "CUS-4401"}
INVOICE_PROFILE = {"Id": 880001, "Name": "Default"}
AGREEMENT = {"Id": 7100, "Name": "Microsoft CSP Indirect"}
CURRENCY = "USD"

# BillingCycleEnum (C# SDK): Monthly 1, Annual 2, None 3, OneTime 4.
BILLING_CYCLE = {"Monthly": 1, "Annual": 2, "None": 3, ONE_TIME_CYCLE: 4}
STATUS_ACTIVE, STATUS_DELETED = 1, 4
PROVISION_SEAT, PROVISION_USAGE, PROVISION_ONE_TIME = 1, 2, 3


def iso(day: date | datetime) -> str:
    when = day if isinstance(day, datetime) else datetime.combine(day, time())
    return when.strftime("%Y-%m-%dT%H:%M:%S") + "Z" if when.tzinfo is None else when.isoformat()


def price(value: Decimal) -> dict[str, Any]:
    return {"Value": float(value), "CurrencyCode": CURRENCY}


def product_key(nce_id: str) -> str:
    """The ``UniqueId`` of an offer's AgreementProduct."""
    return f"{AGREEMENT['Id']}-{nce_id}"


def provision_type(line: InvoiceLine) -> int:
    if line.charge_type == USAGE:
        return PROVISION_USAGE
    return PROVISION_ONE_TIME if line.charge_type == ONE_TIME else PROVISION_SEAT


def tenant_record(tenant_id: int, customer: Customer) -> dict[str, Any]:
    prefix = customer.domain.split(".")[0][:27]
    return {
        "Id": tenant_id,
        "Name": customer.name,
        "Publisher": PUBLISHER,
        "Program": PROGRAM,
        "PublisherCustomerId": customer.tenant_id,
        "ExternalPublisherCustomerId": customer.tenant_id,
        "Domain": f"{prefix}.onmicrosoft.com",
        "DomainPrefix": prefix,
        "Reference": customer.key,  # the cross-system customer key, as an MSP types it into "Reference"
        "CustomerTenantType": 2,  # T2: a reseller's customer
        "EntityStatus": 1,
        "Organization": ORGANIZATION,
        "InvoiceProfile": INVOICE_PROFILE,
        "ResellerMarkup": 0.0,
        "DefaultSubscriptionPriceType": 1,
    }


def subscription_record(
    sub_id: int, tenant_id: int, offer: CloudOffer, quantity: int, start: date, publisher_sub_id: str,
    unit_price: Decimal, rrp: Decimal, created: datetime,
) -> dict[str, Any]:
    # Co-termed to a month end (see channelsync.sandbox.billing): the first term ends on the last day
    # of the month before the anniversary.
    end = add_months(start, 1 if offer.term == "P1M" else 12) - timedelta(days=1)
    usage = offer.usage_based
    one_time = offer.billing_cycle == ONE_TIME_CYCLE
    termless = usage or one_time
    kind = PROVISION_USAGE if usage else PROVISION_ONE_TIME if one_time else PROVISION_SEAT
    return {
        "Id": sub_id,
        "PublisherSubscriptionId": publisher_sub_id,
        "EntitlementId": publisher_sub_id if usage else None,
        "Publisher": PUBLISHER,
        "Organization": {"Id": ORGANIZATION["Id"], "Name": ORGANIZATION["Name"]},
        "CustomerTenant": {"Id": tenant_id},
        "Product": {"Id": 900000 + zlib.crc32(offer.nce_id.encode()) % 90000, "PartNumber": offer.nce_id,
                    "PublisherProductId": f"{offer.product_id}:{offer.sku_id}",
                    "ItemLegalName": offer.name, "ItemName": offer.name},
        "Quantity": quantity,
        "Name": offer.name,
        "Status": STATUS_ACTIVE,
        "ProvisionType": kind,
        "AvailableAddonsCount": 0,
        "Subscriptions": [],
        "OrderId": f"CO-{sub_id}",
        "CreationDate": iso(created),
        "BillingCycle": BILLING_CYCLE[offer.billing_cycle],
        "Markup": 0.0,
        "IsTrial": False,
        "StartDate": iso(start),
        "EndDate": None if termless else iso(end),
        "PriceType": 1,
        "SalesPrice": float(unit_price),
        "RegisteredForReservedInstance": False,
        "InvoiceProfile": INVOICE_PROFILE,
        "AcceptAutoSuspension": None,
        "AutoSuspensionDate": None,
        "PartNumber": offer.nce_id,
        "TermDuration": None if termless else offer.term,
        "AutoRenewEnabled": not termless,
        # SubscriptionDetailed fields (GET /Subscriptions/{id} answers with the detailed shape).
        "EffectiveStartDate": iso(start),
        "CommitmentEndDate": iso(start) if termless else iso(end),
        "Pricing": {"CurrencyCode": CURRENCY, "PurchasePrice": float(unit_price),
                    "RecommendedRetailPrice": float(rrp)},
    }


SUBSCRIPTION_LIST_FIELDS = (
    "Id", "PublisherSubscriptionId", "EntitlementId", "Publisher", "Organization", "CustomerTenant", "Product",
    "Quantity", "Name", "Status", "ProvisionType", "AvailableAddonsCount", "Subscriptions", "OrderId",
    "CreationDate", "BillingCycle", "Markup", "IsTrial", "StartDate", "EndDate", "PriceType", "SalesPrice",
    "RegisteredForReservedInstance", "InvoiceProfile", "AcceptAutoSuspension", "AutoSuspensionDate",
    "PartNumber", "TermDuration", "AutoRenewEnabled",
)


def subscription_summary(record: dict[str, Any]) -> dict[str, Any]:
    """The list shape (``Subscription``) of a stored detailed record."""
    return {key: record[key] for key in SUBSCRIPTION_LIST_FIELDS if key in record}


def agreement_product_record(index: int, offer: CloudOffer, unit_price: Decimal, rrp: Decimal) -> dict[str, Any]:
    cycle = BILLING_CYCLE[offer.billing_cycle]
    return {
        "UniqueId": product_key(offer.nce_id),
        "ProductType": 1,
        "ProductVariant": {
            "Id": 610000 + index,
            "Product": {"Id": 600000 + index, "PartNumber": f"{offer.product_id}:{offer.sku_id}",
                        "PublisherProductId": f"{offer.product_id}:{offer.sku_id}",
                        "ItemLegalName": offer.name, "ItemName": offer.name},
            "PartNumber": offer.nce_id,
            "ProductName": offer.name,
            "Publisher": PUBLISHER,
            "Program": PROGRAM,
            "ProductFamily": {"Id": 30 if offer.usage_based else 31,
                              "Name": "Azure" if offer.usage_based else "Microsoft 365"},
            "PurchaseUnit": "Usage" if offer.usage_based else "Licenses",
            "PurchasePeriod": offer.term,
            "AddDate": "2023-01-01T00:00:00Z",
            "ProductCategory": "Azure" if offer.usage_based else "NCE",
            "Region": "US",
            "IsTrial": False,
            "DefaultBillingCycleId": cycle,
            "AvailableBillingCycleIds": [cycle],
            "MinimumQuantity": 1.0,
        },
        "Agreement": AGREEMENT,
        "Name": offer.name,
        "PriceId": 700000 + index,
        "RecommendedRetailPrice": price(rrp),
        "SalesPrice": price(unit_price),
        "PriceListName": "CSP NCE USD",
        "MonthMultiplier": 12 if offer.billing_cycle == "Annual" else 1,
        "PriceCalculationType": 0,
        "AgreementType": 4,
        "MinimumQuantity": 1,
        "MaximumQuantity": None if offer.usage_based else 300,
        "Catalog": {"Id": 1, "Name": "Microsoft CSP"},
    }


def statement_record(statement_id: int, month: date, month_last: date, provision: int,
                     total: Decimal) -> dict[str, Any]:
    return {
        "Id": statement_id,
        "TotalSalesPrice": price(total),
        "InvoiceProfile": INVOICE_PROFILE,
        "Organization": {"Id": ORGANIZATION["Id"], "Name": ORGANIZATION["Name"]},
        "StartDate": iso(month),
        "EndDate": iso(month_last),
        "ProvisionType": provision,
        "OrderId": f"CSP-{month:%Y%m}-{provision}",
    }


def billing_record(line_id: int, statement_id: int, line: InvoiceLine, tenant: dict[str, Any],
                   subscription: dict[str, Any]) -> dict[str, Any]:
    offer = line.offer
    usage = line.charge_type == USAGE
    one_time = line.charge_type == ONE_TIME
    period_day = line.charge_end if usage else line.charge_start
    return {
        "Id": line_id,
        "BillingStatementId": statement_id,
        "OrganizationName": ORGANIZATION["Name"],
        "PeriodYear": period_day.year,
        "PeriodMonth": period_day.month,
        "CustomerTenant": {"Id": tenant["Id"], "Name": tenant["Name"],
                           "PublisherCustomerTenantId": tenant["PublisherCustomerId"],
                           "Reference": tenant["Reference"], "Domain": tenant["Domain"]},
        "Subscription": {"Id": subscription["Id"], "Name": subscription["Name"],
                         "PublisherSubscriptionId": subscription["PublisherSubscriptionId"],
                         "StartDate": subscription["StartDate"], "EndDate": subscription["EndDate"]},
        "Product": {"PartNumber": offer.nce_id, "InvoicePartNumber": f"{offer.product_id}:{offer.sku_id}",
                    "ItemName": offer.name, "ProductFamilyName": subscription["Name"],
                    "ProductCategoryName": "Azure" if usage else "Software" if one_time else "NCE"},
        "OfferName": offer.name,
        "TermDuration": None if usage or one_time else offer.term,
        "BillingCycle": offer.billing_cycle,
        # Microsoft's charge types (docs/vendors/microsoft-csp.md §3.1); a one-time purchase is "new" (its
        # cycle says OneTime).
        "ChargeType": "new" if one_time else line.charge_type,
        "ChargeStartDate": line.charge_start.isoformat(),
        "ChargeEndDate": line.charge_end.isoformat(),
        "Quantity": line.quantity,
        "Unit": "Usage" if usage else "Licenses",
        "UnitPrice": float(line.unit_price),
        "UnitPriceRrp": float(line.unit_rrp),
        "BillableRatio": float(line.billable_ratio),
        "DaysBilled": line.days_billed,
        "DaysInPeriod": line.days_in_period,
        "SubTotal": float(line.sub_total),
        "SubTotalRrp": float(line.sub_total_rrp),
        "Currency": CURRENCY,
        "ReferenceId": line.reference_id,
    }


# PRISM invoice CSV columns (docs/vendors/crayon.md §2.1) plus the identifiers a reconciler needs.
RECONCILIATION_COLUMNS = (
    ("CustomerTenantId", lambda r: r["CustomerTenant"]["Id"]),
    ("CustomerName", lambda r: r["CustomerTenant"]["Name"]),
    ("TenantReference", lambda r: r["CustomerTenant"]["Reference"]),
    ("PublisherCustomerId", lambda r: r["CustomerTenant"]["PublisherCustomerTenantId"]),
    ("SubscriptionId", lambda r: r["Subscription"]["Id"]),
    ("PublisherSubscriptionId", lambda r: r["Subscription"]["PublisherSubscriptionId"]),
    ("ProductId", lambda r: r["Product"]["PartNumber"]),
    ("OfferName", lambda r: r["OfferName"]),
    ("ChargeType", lambda r: r["ChargeType"]),
    ("ChargeStartDate", lambda r: r["ChargeStartDate"]),
    ("ChargeEndDate", lambda r: r["ChargeEndDate"]),
    ("Quantity", lambda r: r["Quantity"]),
    ("UnitPrice", lambda r: f"{Decimal(str(r['UnitPrice'])):.2f}"),
    ("UnitPriceRrp", lambda r: f"{Decimal(str(r['UnitPriceRrp'])):.2f}"),
    ("BillableRatio", lambda r: f"{Decimal(str(r['BillableRatio'])):.6f}"),
    ("SubTotal", lambda r: f"{Decimal(str(r['SubTotal'])):.2f}"),
    ("SubTotalRrp", lambda r: f"{Decimal(str(r['SubTotalRrp'])):.2f}"),
    ("Currency", lambda r: r["Currency"]),
    ("ReferenceId", lambda r: r.get("ReferenceId") or ""),
)
