"""What the emulated Autotask tenant says about its entities: operations, child URLs, field rules, picklists.

Field names and types come from the swagger (``models.py``). The swagger has no required flags,
lengths or picklists: those come from ``entityInformation/fields`` at runtime on the real service, so
they are declared here from docs/vendors/autotask.md §A.6, §A.7 (SOAP-era lengths, documented required fields).
Numeric picklist values that no public source pins down are assumptions, marked as such; clients
must read them from ``entityInformation/fields`` (as the real tenant defines its own values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from channelsync.sandbox.autotask.models import MODELS

Q, G, C, U, D = "query", "get", "create", "update", "delete"

# Root operations per entity, from the swagger's paths (docs/vendors/autotask.md §A.4): anything else answers 405.
ROOT_OPS: dict[str, frozenset[str]] = {
    "Companies": frozenset({Q, G, C, U}),
    "Products": frozenset({Q, G, C, U}),
    "ProductVendors": frozenset({Q, G}),
    "Contracts": frozenset({Q, G, C, U}),
    "Services": frozenset({Q, G, C, U}),
    "ServiceBundles": frozenset({Q, G, C, U, D}),
    "ServiceBundleServices": frozenset({Q, G}),
    "ContractServices": frozenset({Q, G}),
    "ContractServiceUnits": frozenset({Q, G}),
    "ContractServiceAdjustments": frozenset({C}),
    "ContractCharges": frozenset({Q, G}),  # written through Contracts/{id}/Charges only
    "BillingCodes": frozenset({Q, G}),
    "PurchaseOrders": frozenset({Q, G, C, U}),
    "PurchaseOrderItems": frozenset({Q, G}),
    "PurchaseOrderItemReceiving": frozenset({Q, G}),
    "InventoryItems": frozenset({Q, G, C, U}),
    "InventoryLocations": frozenset({Q, G, C, U}),
    "ShippingTypes": frozenset({Q, G}),
    "UserDefinedFieldDefinitions": frozenset({Q, G, C, U}),
    "UserDefinedFieldListItems": frozenset({Q, G}),
}


@dataclass(frozen=True)
class ChildUrl:
    entity: str  # the root entity the child collection holds
    parent_field: str  # the field set from the parent id in the URL
    ops: frozenset[str]  # "list" (GET collection), G, C, U, D


# (parent URL name, child segment) -> child collection; segment names differ from root names (A.4).
CHILDREN: dict[tuple[str, str], ChildUrl] = {
    ("Products", "Vendors"): ChildUrl("ProductVendors", "productID", frozenset({"list", G, C, U})),
    ("Contracts", "Services"): ChildUrl("ContractServices", "contractID", frozenset({"list", G, C, U})),
    ("Contracts", "ServiceAdjustments"): ChildUrl("ContractServiceAdjustments", "contractID", frozenset({C})),
    ("Contracts", "ServiceUnits"): ChildUrl("ContractServiceUnits", "contractID", frozenset({"list", G})),
    ("Contracts", "Charges"): ChildUrl("ContractCharges", "contractID", frozenset({"list", G, C, U, D})),
    ("PurchaseOrders", "Items"): ChildUrl("PurchaseOrderItems", "orderID", frozenset({"list", G, C, U})),
    ("PurchaseOrderItems", "Receiving"): ChildUrl(
        "PurchaseOrderItemReceiving", "purchaseOrderItemID", frozenset({"list", G, C})
    ),
    ("ServiceBundles", "Services"): ChildUrl("ServiceBundleServices", "serviceBundleID", frozenset({"list", G, C, D})),
}


def picklist(*pairs: tuple[int, str], default: int | None = None) -> list[dict[str, Any]]:
    """PickListValue rows; the wire carries ``value`` as a string (A.6)."""
    return [
        {
            "value": str(value), "label": label, "isDefaultValue": value == default, "sortOrder": index,
            "parentValue": "", "isActive": True, "isSystem": True,
        }
        for index, (value, label) in enumerate(pairs, start=1)
    ]


# Vendor = 7 is an assumption (the real AccountType numbering is not public); clients read the picklist.
COMPANY_TYPE = {"Customer": 1, "Lead": 2, "Prospect": 3, "Dead": 4, "Cancellation": 6, "Vendor": 7, "Partner": 8}
# Recurring Service = 7 and Time & Materials = 1 are documented (A.6); the others are assumptions.
CONTRACT_TYPE = {"Time & Materials": 1, "Fixed Price": 3, "Block Hours": 4, "Retainer": 6,
                 "Recurring Service": 7, "Per Ticket": 8}
RECURRING_SERVICE = CONTRACT_TYPE["Recurring Service"]
CONTRACT_STATUS = {"Inactive": 0, "Active": 1}
# PO statuses: names documented, numbers from weak sources only (A.6).
PO_STATUS = {"New": 1, "Submitted": 2, "Received Partial": 3, "Received Full": 4, "Cancelled": 5}
PERIOD_TYPE = {"One-Time": 1, "Monthly": 2, "Quarterly": 3, "Semi-Annual": 4, "Yearly": 5}  # assumption
BILLING_TYPE = {"Standard": 1, "Per Contact": 2, "Per Asset": 3}  # assumption
# ContractCharges.chargeType (SOAP ContractCost.CostType): the labels and numbers are assumptions; clients
# read the picklist.
CHARGE_TYPE = {"Operational": 1, "Capitalized": 2}
# Six allocation-code categories are documented; their numbers are assumptions.
USE_TYPE = {"Work Type": 1, "Material": 2, "Internal Time": 3, "Expense Category": 4,
            "Recurring Contract Service": 5, "Milestone": 6}
# The tenant's product categories (tenant-defined in Autotask): the distributor's category names, so
# category mapping has something real to map to, plus two the distributor does not have.
PRODUCT_CATEGORIES = [
    "Notebooks", "Desktops", "Monitors", "Servers", "Network Switches", "Wireless Networking",
    "Solid State Drives", "Printers", "Keyboards and Mice", "Cables and Adapters", "Power Protection",
    "Docking Stations", "Software", "Services",
]
PRODUCT_CATEGORY = {name: index for index, name in enumerate(PRODUCT_CATEGORIES, start=1)}

PICKLISTS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("Companies", "companyType"): picklist(*((v, k) for k, v in COMPANY_TYPE.items()), default=1),
    ("Contracts", "contractType"): picklist(*((v, k) for k, v in CONTRACT_TYPE.items())),
    ("Contracts", "status"): picklist(*((v, k) for k, v in CONTRACT_STATUS.items()), default=1),
    ("PurchaseOrders", "status"): picklist(*((v, k) for k, v in PO_STATUS.items()), default=1),
    ("Products", "productCategory"): picklist(*((v, k) for k, v in PRODUCT_CATEGORY.items())),
    ("Products", "periodType"): picklist(*((v, k) for k, v in PERIOD_TYPE.items())),
    ("Products", "billingType"): picklist(*((v, k) for k, v in BILLING_TYPE.items()), default=1),
    ("Services", "periodType"): picklist(*((v, k) for k, v in PERIOD_TYPE.items()), default=2),
    ("ServiceBundles", "periodType"): picklist(*((v, k) for k, v in PERIOD_TYPE.items()), default=2),
    ("BillingCodes", "useType"): picklist(*((v, k) for k, v in USE_TYPE.items())),
    ("ContractCharges", "chargeType"): picklist(*((v, k) for k, v in CHARGE_TYPE.items()), default=1),
}


@dataclass(frozen=True)
class Rule:
    length: int | None = None
    required: bool = False
    read_only: bool = False
    reference: str = ""  # singular entity name, as entityInformation/fields reports it


def _rules(**fields: Rule) -> dict[str, Rule]:
    return fields


R, RO = Rule(required=True), Rule(read_only=True)

# Lengths and required flags: SOAP-era metadata and docs (docs/vendors/autotask.md §A.7).
FIELD_RULES: dict[str, dict[str, Rule]] = {
    "Companies": _rules(
        companyName=Rule(100, True), companyType=R, phone=Rule(25, True), ownerResourceID=R,
        companyNumber=Rule(50), address1=Rule(128), address2=Rule(128), city=Rule(30), state=Rule(25),
        postalCode=Rule(10), webAddress=Rule(255), createDate=RO, lastActivityDate=RO,
        lastTrackedModifiedDateTime=RO, parentCompanyID=Rule(reference="Company"),
    ),
    "Products": _rules(
        name=Rule(100, True), description=Rule(2000), sku=Rule(50), manufacturerName=Rule(100),
        manufacturerProductName=Rule(50), vendorProductNumber=Rule(50), externalProductID=Rule(50),
        internalProductID=Rule(50), link=Rule(500), isActive=R, isSerialized=R, markupRate=RO,
        productBillingCodeID=Rule(reference="BillingCode"), chargeBillingCodeID=Rule(reference="BillingCode"),
        defaultVendorID=Rule(reference="Company"),
    ),
    "ProductVendors": _rules(
        productID=Rule(read_only=True, reference="Product"), vendorID=Rule(required=True, reference="Company"),
        vendorPartNumber=Rule(50), isDefault=R, isActive=R,
    ),
    "Contracts": _rules(
        companyID=Rule(required=True, reference="Company"), contractName=Rule(100, True), contractNumber=Rule(50),
        contractType=R, status=R, startDate=R, endDate=R, timeReportingRequiresStartAndStopTimes=R,
        contactName=Rule(250), description=Rule(2000), purchaseOrderNumber=Rule(50), exclusionContractID=RO,
    ),
    "Services": _rules(
        name=Rule(100, True), description=Rule(400), invoiceDescription=Rule(1000), unitPrice=R, periodType=R,
        billingCodeID=Rule(required=True, reference="BillingCode"), markupRate=RO, createDate=RO,
        lastModifiedDate=RO, creatorResourceID=RO, updateResourceID=RO,
        vendorCompanyID=Rule(reference="Company"),
    ),
    "ServiceBundles": _rules(
        name=Rule(100, True), description=Rule(400), invoiceDescription=Rule(1000), unitPrice=R, periodType=R,
        billingCodeID=Rule(required=True, reference="BillingCode"), createDate=RO, lastModifiedDate=RO,
        creatorResourceID=RO, updateResourceID=RO,
    ),
    "ServiceBundleServices": _rules(serviceBundleID=Rule(read_only=True, reference="ServiceBundle"),
                                    serviceID=Rule(required=True, reference="Service")),
    "ContractServices": _rules(
        contractID=Rule(required=True, reference="Contract"), serviceID=Rule(required=True, reference="Service"),
        invoiceDescription=Rule(1000), internalDescription=Rule(100),
    ),
    "ContractServiceAdjustments": _rules(
        contractID=Rule(required=True, reference="Contract"), serviceID=Rule(required=True, reference="Service"),
        effectiveDate=R, unitChange=R,
    ),
    "ContractServiceUnits": {},
    # ContractCharges: SOAP ContractCost metadata (required ContractID, Name 100, DatePurchased, CostType,
    # UnitQuantity; Description 2000, the PO numbers 50; Status, Billed and the amounts read-only). ``notes``
    # is REST-only: its length is not in our sources (8000 reported, an assumption). contractID comes from
    # the parent URL (Contracts/{id}/Charges), the only way to write a charge.
    "ContractCharges": _rules(
        contractID=Rule(read_only=True, reference="Contract"), name=Rule(100, True), datePurchased=R,
        chargeType=R, unitQuantity=R, description=Rule(2000), purchaseOrderNumber=Rule(50),
        internalPurchaseOrderNumber=Rule(50), productID=Rule(reference="Product"),
        billingCodeID=Rule(reference="BillingCode"), billableAmount=RO, extendedCost=RO, isBilled=RO, status=RO,
        statusLastModifiedBy=RO, statusLastModifiedDate=RO, createDate=RO, creatorResourceID=RO,
        internalCurrencyBillableAmount=RO, internalCurrencyUnitPrice=RO,
    ),
    "BillingCodes": _rules(name=Rule(200), description=Rule(500), externalNumber=Rule(100)),
    "PurchaseOrders": _rules(
        vendorID=Rule(required=True, reference="Company"), status=R, shipToName=Rule(100, True),
        shipToAddress1=Rule(128, True), shipToAddress2=Rule(128), shipToCity=Rule(30, True),
        shipToState=Rule(25, True), shipToPostalCode=Rule(10, True), phone=Rule(25), fax=Rule(25),
        generalMemo=Rule(4000), externalPONumber=Rule(50), vendorInvoiceNumber=Rule(50),
        latestEstimatedArrivalDate=RO, createDateTime=RO, submitDateTime=RO, cancelDateTime=RO,
        creatorResourceID=RO, shippingType=Rule(reference="ShippingType"),
    ),
    "PurchaseOrderItems": _rules(
        orderID=Rule(read_only=True, reference="PurchaseOrder"), productID=Rule(required=True, reference="Product"),
        inventoryLocationID=Rule(required=True, reference="InventoryLocation"), quantity=R, unitCost=R,
        memo=Rule(4000),
    ),
    "PurchaseOrderItemReceiving": _rules(
        purchaseOrderItemID=Rule(read_only=True, reference="PurchaseOrderItem"), quantityNowReceiving=R,
        quantityPreviouslyReceived=RO, quantityBackOrdered=RO, serialNumber=Rule(100),
        vendorInvoiceNumber=Rule(50),
    ),
    "InventoryItems": _rules(
        productID=Rule(required=True, reference="Product"),
        inventoryLocationID=Rule(required=True, reference="InventoryLocation"), bin=Rule(50),
        referenceNumber=Rule(50),
    ),
    "InventoryLocations": _rules(locationName=Rule(50, True), isActive=R, isDefault=RO),
    "ShippingTypes": _rules(name=Rule(100), description=Rule(200)),
    "UserDefinedFieldDefinitions": _rules(name=Rule(45, True), dataType=R, udfType=R, description=Rule(128),
                                          createDate=RO),
    "UserDefinedFieldListItems": _rules(valueForDisplay=Rule(128), valueForExport=Rule(128)),
}


@dataclass
class EntityMeta:
    name: str  # URL name, e.g. "Products"
    singular: str  # internal name used in error texts, e.g. "Product"
    model: str  # swagger definition, e.g. "ProductModel"
    has_udfs: bool
    fields: dict[str, str]  # field -> dataType
    lower: dict[str, str] = field(default_factory=dict)  # lower-case field -> field (names are case-insensitive)


@cache
def entity_meta(name: str) -> EntityMeta:
    model, singular, has_udfs, fields = MODELS[name]
    return EntityMeta(name, singular, model, has_udfs, fields, {f.lower(): f for f in fields})


def rule(entity: str, field_name: str) -> Rule:
    return FIELD_RULES.get(entity, {}).get(field_name, Rule(read_only=field_name == "id"))


@cache
def field_information(entity: str) -> list[dict[str, Any]]:
    """The ``entityInformation/fields`` rows (FieldInformationModel) of one entity."""
    meta = entity_meta(entity)
    rows = []
    for name, data_type in meta.fields.items():
        r = rule(entity, name)
        values = PICKLISTS.get((entity, name))
        length = r.length if r.length is not None else (0 if data_type != "string" else 8000)
        rows.append(
            {
                "name": name, "dataType": data_type, "length": length, "isRequired": r.required,
                "isReadOnly": r.read_only or name == "id", "isQueryable": True, "isReference": bool(r.reference),
                "referenceEntityType": r.reference, "isPickList": values is not None, "picklistValues": values,
                "picklistParentValueField": "", "isSupportedWebhookField": False,
            }
        )
    return rows


def entity_information(entity: str) -> dict[str, Any]:
    ops = ROOT_OPS.get(entity, frozenset())
    child_ops = frozenset().union(*(c.ops for c in CHILDREN.values() if c.entity == entity))
    meta = entity_meta(entity)
    return {
        "name": meta.singular,
        "canCreate": C in ops or C in child_ops, "canDelete": D in ops or D in child_ops,
        "canQuery": Q in ops, "canUpdate": U in ops or U in child_ops,
        "userAccessForCreate": "All", "userAccessForDelete": "All", "userAccessForQuery": "All",
        "userAccessForUpdate": "All", "hasUserDefinedFields": meta.has_udfs, "supportsWebhookCallouts": False,
    }
