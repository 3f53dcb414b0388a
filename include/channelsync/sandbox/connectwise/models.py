"""The ConnectWise models the emulator serves, from docs/vendors/connectwise.md §B.7 (the contract).

Each :class:`ResourceSpec` lists the model's fields (a request naming any other field in
``conditions``/``orderBy``/PATCH is refused), what is required on create, maximum lengths,
reference fields (resolved by id / name / identifier and stored as reference objects), unique
fields, enums and defaults. Category / SubCategory / Manufacturer / ProductType fields come from
the short table of the same section (docs/vendors/connectwise.md §B.7).

Records are stored as the real server answers them: null fields are omitted (ConnectWise's JSON
serializer drops nulls), so a record carries exactly what was set plus defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

API_ROOT = "v4_6_release/apis/3.0"


@dataclass(frozen=True)
class RefSpec:
    table: str  # target table
    shape: str = "name"  # name → {id,name}; company → {id,identifier,name}; ivitem → {id,identifier,serializedFlag}
    # contact → {id,name} where name is "first last"


@dataclass(frozen=True)
class ResourceSpec:
    resource: str  # the name in error bodies ("catalogItem")
    table: str
    path: str  # collection path below /apis/3.0
    fields: frozenset[str]
    required: tuple[str, ...] = ()
    max_lengths: dict[str, int] = field(default_factory=dict)
    refs: dict[str, RefSpec] = field(default_factory=dict)
    unique: tuple[str, ...] = ()
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    read_only: frozenset[str] = frozenset({"id", "_info"})
    parent_field: str | None = None  # children: field holding the parent id (agreementId)
    parent_table: str | None = None
    label: str = ""  # for "X recordId N not found." messages


def _fields(text: str) -> frozenset[str]:
    return frozenset(text.split()) | {"id", "_info", "customFields"}


BILL_OPTIONS = ("Billable", "DoNotBill", "NoCharge", "NoDefault")

CATALOG_ITEM = ResourceSpec(
    resource="catalogItem", table="catalogItems", path="procurement/catalog", label="CatalogItem",
    fields=_fields("""identifier description inactiveFlag subcategory type productClass serializedFlag
        serializedCostFlag phaseProductFlag unitOfMeasure minStockLevel price cost priceAttribute taxableFlag
        dropShipFlag specialOrderFlag customerDescription manufacturer manufacturerPartNumber vendor vendorSku
        notes integrationXRef sla entityType recurringFlag recurringRevenue recurringCost recurringOneTimeFlag
        recurringBillCycle recurringCycleType calculatedPriceFlag calculatedCostFlag category calculatedPrice
        calculatedCost billableOption connectWiseID agreementType markupPercentage markupFlag
        autoUpdateUnitCostFlag autoUpdateUnitPriceFlag dateEntered"""),
    required=("identifier", "description", "subcategory", "type", "customerDescription"),
    max_lengths={"identifier": 75, "description": 60, "customerDescription": 6000, "manufacturerPartNumber": 50,
                 "vendorSku": 50, "integrationXRef": 50},
    refs={"subcategory": RefSpec("subcategories"), "type": RefSpec("productTypes"),
          "category": RefSpec("categories"), "manufacturer": RefSpec("manufacturers"),
          "unitOfMeasure": RefSpec("unitsOfMeasure"), "vendor": RefSpec("companies", "company"),
          "agreementType": RefSpec("agreementTypes")},
    unique=("identifier",),
    enums={"productClass": ("Agreement", "Bundle", "Inventory", "NonInventory", "Service"),
           "priceAttribute": ("FixedFee", "NotToExceed", "OverrideRate", "TimeAndMaterials"),
           "billableOption": BILL_OPTIONS, "recurringCycleType": ("ContractYear", "CalendarYear")},
    defaults={"inactiveFlag": False, "productClass": "NonInventory", "serializedFlag": False,
              "serializedCostFlag": False, "phaseProductFlag": False, "taxableFlag": True, "dropShipFlag": False,
              "specialOrderFlag": False, "recurringFlag": False, "calculatedPriceFlag": False,
              "calculatedCostFlag": False, "billableOption": "Billable", "priceAttribute": "FixedFee",
              "price": 0.0, "cost": 0.0, "markupFlag": False, "autoUpdateUnitCostFlag": False,
              "autoUpdateUnitPriceFlag": False, "minStockLevel": 0},
)

CATEGORY = ResourceSpec(
    resource="category", table="categories", path="procurement/categories", label="Category",
    fields=_fields("name inactiveFlag priceLevelXref integrationXref locationIds defaultFlag addAllLocations "
                   "removeAllLocations"),
    required=("name",), max_lengths={"name": 50, "priceLevelXref": 10, "integrationXref": 50},
    unique=("name",), defaults={"inactiveFlag": False, "defaultFlag": False},
)

SUBCATEGORY = ResourceSpec(
    resource="subCategory", table="subcategories", path="procurement/subcategories", label="SubCategory",
    fields=_fields("name category inactiveFlag integrationXref defaultFlag"),
    required=("name", "category"), max_lengths={"name": 50, "integrationXref": 50},
    refs={"category": RefSpec("categories")}, defaults={"inactiveFlag": False, "defaultFlag": False},
)

PRODUCT_TYPE = ResourceSpec(
    resource="productType", table="productTypes", path="procurement/types", label="ProductType",
    fields=_fields("name inactiveFlag typeXref defaultFlag"), required=("name",), max_lengths={"name": 50},
    unique=("name",), defaults={"inactiveFlag": False, "defaultFlag": False},
)

MANUFACTURER = ResourceSpec(
    resource="manufacturer", table="manufacturers", path="procurement/manufacturers", label="Manufacturer",
    fields=_fields("name inactiveFlag"), required=("name",), max_lengths={"name": 50}, unique=("name",),
    defaults={"inactiveFlag": False},
)

UNIT_OF_MEASURE = ResourceSpec(
    resource="unitOfMeasure", table="unitsOfMeasure", path="procurement/unitOfMeasures", label="UnitOfMeasure",
    fields=_fields("name inactiveFlag defaultFlag"), required=("name",), max_lengths={"name": 50},
    unique=("name",),
)

_ADDRESS = ("addressLine1", "addressLine2", "city", "state", "zip", "country")

COMPANY = ResourceSpec(
    resource="company", table="companies", path="company/companies", label="Company",
    fields=_fields("""identifier name status addressLine1 addressLine2 city state zip country phoneNumber
        faxNumber website territory market accountNumber defaultContact dateAcquired sicCode parentCompany
        annualRevenue numberOfEmployees yearEstablished revenueYear ownershipType timeZoneSetup leadSource
        leadFlag unsubscribeFlag calendar userDefinedField1 userDefinedField2 userDefinedField3
        userDefinedField4 userDefinedField5 userDefinedField6 userDefinedField7 userDefinedField8
        userDefinedField9 userDefinedField10 vendorIdentifier taxIdentifier taxCode billingTerms
        invoiceTemplate pricingSchedule companyEntityType billToCompany billingSite billingContact
        invoiceDeliveryMethod invoiceToEmailAddress invoiceCCEmailAddress deletedFlag dateDeleted deletedBy
        mobileGuid facebookUrl twitterUrl linkedInUrl currency territoryManager resellerIdentifier
        isVendorFlag types site integratorTags"""),
    required=("identifier", "name"),
    max_lengths={"identifier": 30, "name": 50, "addressLine1": 50, "addressLine2": 50, "city": 50, "state": 50,
                 "zip": 12, "phoneNumber": 30, "faxNumber": 30, "website": 255, "leadSource": 50,
                 **{f"userDefinedField{i}": 50 for i in range(1, 11)}},
    refs={"parentCompany": RefSpec("companies", "company"), "billingTerms": RefSpec("billingTerms"),
          "billToCompany": RefSpec("companies", "company")},
    unique=("identifier",),
    defaults={"deletedFlag": False, "leadFlag": False, "unsubscribeFlag": False, "isVendorFlag": False,
              "status": {"id": 1, "name": "Active"}},
)

CONTACT = ResourceSpec(
    resource="contact", table="contacts", path="company/contacts", label="Contact",
    fields=_fields("firstName lastName company title inactiveFlag defaultFlag"),
    required=("firstName",), max_lengths={"firstName": 30, "lastName": 30},
    refs={"company": RefSpec("companies", "company")}, defaults={"inactiveFlag": False},
)

PURCHASE_ORDER_STATUS = ResourceSpec(
    resource="purchaseOrderStatus", table="purchaseOrderStatuses", path="procurement/purchaseorderstatuses",
    label="PurchaseOrderStatus",
    fields=_fields("name defaultFlag closedFlag inactiveFlag defaultClosedFlag sortOrder emailTemplate"),
    required=("name",), max_lengths={"name": 50}, unique=("name",),
    defaults={"defaultFlag": False, "closedFlag": False, "inactiveFlag": False, "defaultClosedFlag": False},
)

PURCHASE_ORDER = ResourceSpec(
    resource="purchaseOrder", table="purchaseOrders", path="procurement/purchaseorders", label="PurchaseOrder",
    fields=_fields("""businessUnitId businessUnit cancelReason closedFlag closedBy customerCity customerCompany
        customerContact customerCountry customerExtension customerName customerPhone customerSite
        customerSiteName customerState customerStreetLine1 customerStreetLine2 customerZip dateClosed
        dropShipCustomerFlag enteredBy freightCost freightPackingSlip freightTaxTotal internalNotes locationId
        location poDate poNumber salesTax shipmentDate shipmentMethod shippingInstructions status subTotal
        taxCode taxFreightFlag taxPoFlag terms total trackingNumber updateShipmentInfo updateVendorOrderNumber
        vendorCompany vendorContact vendorInvoiceDate vendorInvoiceNumber vendorOrderNumber vendorSite
        warehouse warehouseContact currency"""),
    required=("status", "terms", "vendorCompany"),
    max_lengths={"poNumber": 50, "trackingNumber": 50, "vendorInvoiceNumber": 50, "vendorOrderNumber": 50},
    refs={"status": RefSpec("purchaseOrderStatuses"), "terms": RefSpec("billingTerms"),
          "vendorCompany": RefSpec("companies", "company"), "customerCompany": RefSpec("companies", "company"),
          "vendorContact": RefSpec("contacts", "contact")},
    unique=("poNumber",),
    # closedFlag / dateClosed follow the status (model note); totals follow the line items.
    read_only=frozenset({"id", "_info", "closedFlag", "dateClosed", "subTotal", "total"}),
    defaults={"dropShipCustomerFlag": False, "freightCost": 0.0, "salesTax": 0.0, "taxFreightFlag": False,
              "taxPoFlag": False, "enteredBy": "sandboxapi"},
)

LINE_ITEM = ResourceSpec(
    resource="purchaseOrderLineItem", table="purchaseOrderLineItems", path="lineitems", label="PurchaseOrderLineItem",
    fields=_fields("""backorderedFlag canceledBy canceledFlag canceledReason closedFlag dateCanceled
        dateCanceledUtc description displayInternalNotesFlag expectedShipDate internalNotes lineNumber packingSlip
        product purchaseOrderId purchaseOrderNumber quantity receivedQuantity serialNumbers shipDate
        shipmentMethod tax trackingNumber unitCost unitOfMeasure vendorOrderNumber vendorSku warehouse
        warehouseBin shipSet dateReceived receivedStatus extCost expectedArrivalDate isDetachAvailable
        batchedFlag unbatchedRecId salesOrder"""),
    required=("description", "product", "unitOfMeasure"),
    max_lengths={"description": 6000, "canceledReason": 100, "internalNotes": 1000, "packingSlip": 50,
                 "purchaseOrderNumber": 50, "trackingNumber": 50, "vendorOrderNumber": 50, "vendorSku": 50,
                 "shipSet": 10},
    refs={"product": RefSpec("catalogItems", "ivitem"), "unitOfMeasure": RefSpec("unitsOfMeasure")},
    enums={"receivedStatus": ("Waiting", "FullyReceived", "PartiallyReceiveCancelRest",
                              "PartiallyReceiveCloneRest")},
    read_only=frozenset({"id", "_info", "purchaseOrderId", "purchaseOrderNumber", "extCost"}),
    defaults={"backorderedFlag": False, "canceledFlag": False, "closedFlag": False, "receivedQuantity": 0,
              "receivedStatus": "Waiting", "quantity": 1.0, "tax": 0.0, "displayInternalNotesFlag": False,
              "batchedFlag": False},
    parent_field="purchaseOrderId", parent_table="purchaseOrders",
)

AGREEMENT_TYPE = ResourceSpec(
    resource="agreementType", table="agreementTypes", path="finance/agreements/types", label="AgreementType",
    fields=_fields("name defaultFlag inactiveFlag prePaymentFlag invoiceTemplate location department "
                   "billingCycle"),
    required=("name",), max_lengths={"name": 50}, unique=("name",),
    defaults={"defaultFlag": False, "inactiveFlag": False, "prePaymentFlag": False},
)

AGREEMENT = ResourceSpec(
    resource="agreement", table="agreements", path="finance/agreements", label="Agreement",
    fields=_fields("""name type company contact site subContractCompany subContractContact parentAgreement
        customerPO location department restrictLocationFlag restrictDepartmentFlag startDate endDate
        noEndingDateFlag opportunity cancelledFlag dateCancelled reasonCancelled sla workOrder internalNotes
        applicationUnits applicationLimit applicationCycle applicationUnlimitedFlag oneTimeFlag
        coverAgreementTime coverAgreementProduct coverAgreementExpense coverSalesTax carryOverUnused
        allowOverruns expiredDays limit expireWhenZero chargeToFirm employeeCompRate employeeCompNotExceed
        compHourlyRate compLimitAmount billingCycle billOneTimeFlag billingTerms invoicingCycle billToCompany
        billToContact billToSite billAmount taxable prorateFirstBill billStartDate taxCode restrictDownPayment
        prorateFlag invoiceProratedAdditionsFlag invoiceDescription topComment bottomComment workRole workType
        projectType invoiceTemplate billTime billExpenses billProducts billableTimeInvoice
        billableExpenseInvoice billableProductInvoice currency periodType autoInvoiceFlag nextInvoiceDate
        companyLocation shipToCompany shipToContact shipToSite agreementStatus"""),
    required=("name", "type", "company", "contact"),
    max_lengths={"name": 100, "customerPO": 50, "reasonCancelled": 100, "workOrder": 20},
    refs={"type": RefSpec("agreementTypes"), "company": RefSpec("companies", "company"),
          "contact": RefSpec("contacts", "contact"), "billToCompany": RefSpec("companies", "company"),
          "billingTerms": RefSpec("billingTerms"), "parentAgreement": RefSpec("agreements")},
    enums={"billTime": BILL_OPTIONS, "billExpenses": BILL_OPTIONS, "billProducts": BILL_OPTIONS,
           "applicationUnits": ("Amount", "Hours", "Incidents"), "invoicingCycle": ("ContractYear", "CalendarYear"),
           "employeeCompRate": ("Actual", "Hourly"), "periodType": ("Current", "Future", "Both", "Undefined")},
    read_only=frozenset({"id", "_info", "agreementStatus"}),
    defaults={"cancelledFlag": False, "noEndingDateFlag": False, "oneTimeFlag": False, "taxable": False,
              "billTime": "Billable", "billExpenses": "Billable", "billProducts": "Billable",
              "invoicingCycle": "ContractYear", "employeeCompRate": "Actual", "applicationUnlimitedFlag": False,
              "restrictLocationFlag": False, "restrictDepartmentFlag": False, "prorateFlag": False,
              "autoInvoiceFlag": False, "billAmount": 0.0, "periodType": "Current"},
)

ADDITION = ResourceSpec(
    resource="addition", table="additions", path="additions", label="Addition",
    fields=_fields("""product quantity lessIncluded unitPrice unitCost billCustomer effectiveDate cancelledDate
        taxableFlag serialNumber invoiceDescription purchaseItemFlag specialOrderFlag agreementId description
        billedQuantity uom extPrice extCost sequenceNumber margin prorateCost proratePrice extendedProrateCost
        extendedProratePrice prorateCurrentPeriodFlag opportunity agreementStatus invoiceGrouping"""),
    required=("product",),
    max_lengths={"serialNumber": 50, "invoiceDescription": 6000},
    refs={"product": RefSpec("catalogItems", "ivitem")},
    enums={"billCustomer": ("Billable", "DoNotBill", "NoCharge")},
    read_only=frozenset({"id", "_info", "agreementId", "agreementStatus", "extPrice", "extCost", "margin"}),
    defaults={"quantity": 1.0, "lessIncluded": 0.0, "billCustomer": "Billable", "taxableFlag": False,
              "purchaseItemFlag": False, "specialOrderFlag": False, "prorateCurrentPeriodFlag": False},
    parent_field="agreementId", parent_table="agreements",
)

BILLING_TERMS = ResourceSpec(
    resource="billingTerm", table="billingTerms", path="finance/billingTerms", label="BillingTerm",
    fields=_fields("name defaultFlag"), required=("name",), max_lengths={"name": 50},
)

TOP_LEVEL: tuple[ResourceSpec, ...] = (
    CATALOG_ITEM, CATEGORY, SUBCATEGORY, PRODUCT_TYPE, MANUFACTURER, UNIT_OF_MEASURE, COMPANY, CONTACT,
    PURCHASE_ORDER_STATUS, PURCHASE_ORDER, AGREEMENT_TYPE, AGREEMENT, BILLING_TERMS,
)
CHILDREN: tuple[ResourceSpec, ...] = (LINE_ITEM, ADDITION)
BY_TABLE: dict[str, ResourceSpec] = {spec.table: spec for spec in TOP_LEVEL + CHILDREN}


def href(base_url: str, spec_path: str, record_id: Any) -> str:
    return f"{base_url}/connectwise/{API_ROOT}/{spec_path}/{record_id}"


def reference(shape: str, record: dict[str, Any], target: ResourceSpec, base_url: str, name: str) -> dict[str, Any]:
    """The reference object stored on a record (CompanyReference, IvItemReference, {id,name})."""
    info = {"_info": {f"{name}_href": href(base_url, target.path, record["id"])}}
    if shape == "company":
        return {"id": record["id"], "identifier": record.get("identifier"), "name": record.get("name"), **info}
    if shape == "ivitem":
        return {"id": record["id"], "identifier": record.get("identifier"),
                "serializedFlag": bool(record.get("serializedFlag", False)), **info}
    if shape == "contact":
        full = " ".join(p for p in (record.get("firstName"), record.get("lastName")) if p)
        return {"id": record["id"], "name": full, **info}
    return {"id": record["id"], "name": record.get("name"), **info}
