"""The canonical tables of CSP billing (service_catalog_sync and subscription_billing).

Distributor adapters (``adapters/csp_billing.py``: Crayon / PRISM and Pax8) produce ``CSP_PRODUCT`` and
``INVOICE_LINE``; PSA adapters read the PSA's services and recurring-contract units into ``PSA_SERVICE``
and ``CONTRACT_UNITS``. Reconcile (``reconcile/billing*.py``) only ever sees these columns, so a third
distributor or PSA is an adapter, not a change to the planner.

Vendor numbers are kept as the vendor states them (quantity, unit prices per charge period, billable
ratio, totals); what they *mean* for seat counts is decided once, in ``reconcile/billing_timeline.py``.
"""

from __future__ import annotations

# The charge types channelsync understands (docs/vendors/microsoft-csp.md §3.1), Microsoft's names. Adapters
# map vendor-specific names onto these; any other value is quarantined by the suite with its name.
NEW, CYCLE, RENEW, ADD, REMOVE, CANCEL, USAGE, CREDIT, ONE_TIME = (
    "new", "cycleCharge", "renew", "addQuantity", "removeQuantity", "cancelImmediate", "usage",
    "customerCredit", "oneTime",
)
SEAT_CHARGE_TYPES = (NEW, CYCLE, RENEW, ADD, REMOVE, CANCEL)  # lines that say how many seats, when
CHARGE_TYPES = (*SEAT_CHARGE_TYPES, USAGE, CREDIT, ONE_TIME)
BILLING_CYCLES = ("Monthly", "Annual", "Triennial", "None")  # None: usage (Azure plan)

# One row per product on a distributor's CSP price list (service_catalog_sync's desired state).
CSP_PRODUCT: dict[str, str] = {
    "source_key": "string",  # "<distributor>:<sku>", the xref key, e.g. "crayon:CFQ7TTC0LF8R:0001:P1Y:M"
    "distributor": "string",  # crayon | pax8
    "account": "string",  # the distributor account whose price list this is (Crayon organization, Pax8 partner)
    "sku": "string",  # the distributor's part number (Crayon partNumber, Pax8 sku)
    "name": "string",
    "description": "string",
    "unit_cost": "float64",  # partner buy price per seat per billing period, in ``currency``
    "unit_price": "float64",  # recommended retail (sell) price per seat per billing period
    "currency": "string",
    "billing_cycle": "string",  # one of BILLING_CYCLES
    "term": "string",  # P1M | P1Y | P3Y, missing for usage
    "usage": "boolean",  # True: consumption-billed (Azure plan), posted as quantity 1 at the month's amount
    "parse_error": "string",  # why the record could not be read as it stands; missing when readable
}

# One row per invoice line (subscription_billing's source). Keyed by its account, so one integration can
# bill several distributor accounts (several Crayon organizations / invoice profiles, several Pax8 partners).
INVOICE_LINE: dict[str, str] = {
    "source_key": "string",  # "<distributor>:<account>:<invoice_id>:<line_id>"
    "distributor": "string",
    "account": "string",
    "invoice_id": "string",  # Crayon billing statement id, Pax8 invoice id
    "line_id": "string",  # the vendor's line id, unique within the invoice
    "customer_id": "string",  # Crayon customer tenant id, Pax8 company id
    "customer_name": "string",
    "customer_domain": "string",  # e.g. contoso.onmicrosoft.com; missing when the vendor does not say
    "subscription_id": "string",
    "sku": "string",  # joins CSP_PRODUCT.sku
    "product_name": "string",
    "charge_type": "string",  # one of CHARGE_TYPES after the adapter's mapping; anything else is quarantined
    "billing_cycle": "string",
    "term": "string",
    "charge_start": "string",  # ISO date, inclusive
    "charge_end": "string",  # ISO date, inclusive
    "quantity": "float64",  # as invoiced (signed for Pax8-style deltas); fractional seats are quarantined
    "billable_ratio": "float64",  # signed: a reversal or credit is negative (Microsoft's "pair" style)
    "unit_cost": "float64",  # partner price per seat per charge period (annual: the year's price)
    "unit_price": "float64",  # retail price per seat per charge period
    "cost_total": "float64",  # the line's amount to the partner
    "price_total": "float64",  # the line's amount at retail
    "currency": "string",
    "reference_id": "string",  # links the lines of one change (reversal + new charge); may be missing
    "parse_error": "string",
}

# One row per PSA service channelsync may manage (Autotask Services / ConnectWise catalog items of a
# service product type), PSA-neutral.
PSA_SERVICE: dict[str, str] = {
    "psa_id": "string",
    "name": "string",  # "PC_" + SKU for the services channelsync creates
    "description": "string",
    "invoice_description": "string",
    "unit_cost": "float64",
    "unit_price": "float64",
    "period": "string",  # Monthly | Yearly (the PSA's billing period of the service)
    "active": "boolean",
    "vendor": "string",  # "company #<id>" or missing
}
SERVICE_FIELDS: tuple[str, ...] = ("name", "description", "invoice_description", "unit_cost", "unit_price",
                                   "period", "vendor")
SERVICE_PRICE_FIELDS: tuple[str, ...] = ("unit_cost", "unit_price")  # all that changes after the first sync
SERVICE_NAME_PREFIX = "PC_"
DESCRIPTION_MAX, INVOICE_DESCRIPTION_MAX = 400, 1000

# One row per constant stretch of a recurring contract's units for one service: Autotask
# ContractServiceUnits (one row per billing period, split at each adjustment's effective date), ConnectWise
# agreement additions (effective → cancelled). ``end`` missing: open-ended.
CONTRACT_UNITS: dict[str, str] = {
    "contract_id": "string",  # Autotask Contract id / ConnectWise agreement id
    "service_id": "string",  # Autotask Service id / ConnectWise catalog item id
    "record_id": "string",  # the PSA record holding the stretch (ContractServiceUnit / addition id)
    "start": "string",  # ISO date, inclusive
    "end": "string",  # ISO date, inclusive; missing when open-ended
    "units": "float64",
    "unit_price": "float64",
    "unit_cost": "float64",
}
