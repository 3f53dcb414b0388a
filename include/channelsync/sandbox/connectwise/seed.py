"""The ConnectWise tenant at reset, drawn from the shared world so the systems agree.

- procurement setup: categories (Hardware, Software, Services, Cloud Services), one subcategory per
  world hardware category plus cloud / service ones, product types, manufacturers (every world maker
  except Netgear, so a sync must create one), units of measure, billing terms, PO statuses;
- companies: every ``world.customers`` entry with ``in_psa`` (``accountNumber`` = the world key,
  e.g. ``C0007``, which is how tests and the demo map customers) plus the vendor "TD SYNNEX"
  (identifier ``TDSYNNEX``), one contact each;
- catalog: ``world.hand_made_psa_products`` typed in by a person before channelsync (identifier =
  MPN, prices not always the distributor's, vendor SKU sometimes missing) and a few service items;
- agreements: a Managed Services agreement per company, a "Microsoft 365" agreement for companies
  with seat subscriptions (every 7th cancelled, to test "active only"), no additions yet;
- two purchase orders to TD SYNNEX with line items.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from channelsync.sandbox.connectwise import models, rules
from channelsync.sandbox.store import RecordStore
from channelsync.sandbox.world import CATEGORIES, MANUFACTURERS, World

SUBCATEGORY_EXTRA = [("Software", "Licensing"), ("Services", "Labor"), ("Services", "Managed Services"),
                     ("Cloud Services", "Microsoft 365"), ("Cloud Services", "Azure")]
PRODUCT_TYPES = ["Hardware", "Software", "Service", "Cloud Subscription"]
UNITS = ["Each", "Month", "Year", "Hour"]
PO_STATUSES = [  # name, default, closed, sort
    ("New", True, False, 1), ("Open", False, False, 2), ("Submitted", False, False, 3),
    ("Closed", False, True, 4), ("Cancelled", False, True, 5),
    # a tenant's own statuses for TD SYNNEX ordering (submit_orders / order_status's demo defaults)
    ("Send to TDS", False, False, 6), ("TDS Error", False, False, 7), ("Partially Shipped", False, False, 8),
    ("Shipped", False, False, 9),
]
AGREEMENT_TYPES = ["Managed Services", "Microsoft 365", "Block Time"]
SERVICE_ITEMS = [  # identifier, description, subcategory, type, price, cost
    ("LABOR-ONSITE", "Onsite labor (per hour)", "Labor", "Service", 150.0, 0.0),
    ("LABOR-REMOTE", "Remote labor (per hour)", "Labor", "Service", 125.0, 0.0),
    ("MS-DEVICE", "Managed Services - per device", "Managed Services", "Service", 45.0, 12.0),
    ("MS-USER", "Managed Services - per user", "Managed Services", "Service", 95.0, 30.0),
]


def seed(store: RecordStore, world: World, now: datetime, base_url: str) -> None:
    store.clear()
    for spec in models.TOP_LEVEL + models.CHILDREN:
        store.table(spec.table)
    seeder = _Seeder(store, world, now, base_url)
    seeder.procurement_setup()
    seeder.companies()
    seeder.catalog()
    seeder.agreements()
    seeder.purchase_orders()


class _Seeder:
    def __init__(self, store: RecordStore, world: World, now: datetime, base_url: str) -> None:
        self.store, self.world, self.now, self.base_url = store, world, now, base_url
        self.by_name: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, table: str, record: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        rules.info(record, self.now)
        row = self.store.table(table).insert({"id": self.store.table(table).next_id(), **record})
        if key is not None:
            self.by_name[(table, key)] = row
        return row

    def ref(self, table: str, key: str, name: str = "x") -> dict[str, Any]:
        spec = models.BY_TABLE[table]
        shape = next((r.shape for s in models.BY_TABLE.values() for r in s.refs.values() if r.table == table), "name")
        return models.reference(shape, self.by_name[(table, key)], spec, self.base_url, name)

    def procurement_setup(self) -> None:
        for name in ("Hardware", "Software", "Services", "Cloud Services"):
            self.add("categories", {"name": name, "inactiveFlag": False, "defaultFlag": name == "Hardware"}, name)
        subs = [("Hardware", name) for _, name in CATEGORIES] + SUBCATEGORY_EXTRA
        for category, name in subs:
            self.add("subcategories", {"name": name, "category": self.ref("categories", category, "category"),
                                       "inactiveFlag": False, "defaultFlag": False}, name)
        for name in PRODUCT_TYPES:
            self.add("productTypes", {"name": name, "inactiveFlag": False, "defaultFlag": name == "Hardware"}, name)
        for maker, *_ in MANUFACTURERS:
            if maker != "Netgear":
                self.add("manufacturers", {"name": maker, "inactiveFlag": False}, maker)
        for name in UNITS:
            self.add("unitsOfMeasure", {"name": name, "inactiveFlag": False, "defaultFlag": name == "Each"}, name)
        self.add("billingTerms", {"name": "Net 30", "defaultFlag": True}, "Net 30")
        self.add("billingTerms", {"name": "Due on receipt", "defaultFlag": False}, "Due on receipt")
        for name, default, closed, sort in PO_STATUSES:
            self.add("purchaseOrderStatuses", {"name": name, "defaultFlag": default, "closedFlag": closed,
                                               "inactiveFlag": False, "defaultClosedFlag": name == "Closed",
                                               "sortOrder": sort}, name)
        for name in AGREEMENT_TYPES:
            self.add("agreementTypes", {"name": name, "defaultFlag": name == "Managed Services",
                                        "inactiveFlag": False, "prePaymentFlag": False}, name)

    def companies(self) -> None:
        used: set[str] = set()
        vendor = self.add("companies", {
            "identifier": "TDSYNNEX", "name": "TD SYNNEX", "status": {"id": 1, "name": "Active"},
            "addressLine1": "44201 Nobel Drive", "city": "Fremont", "state": "CA", "zip": "94538",
            "country": {"id": 1, "name": "United States"}, "phoneNumber": "+1-800-756-9888",
            "website": "www.tdsynnex.com", "types": [{"id": 2, "name": "Vendor"}], "isVendorFlag": True,
            "vendorIdentifier": "TDSYNNEX", "deletedFlag": False, "leadFlag": False, "unsubscribeFlag": False,
        }, "TDSYNNEX")
        self._contact(vendor, "Vendor", "Desk")
        for customer in self.world.customers:
            if not customer.in_psa:
                continue
            identifier = "".join(ch for ch in customer.name.title() if ch.isalnum())[:26]
            if identifier.lower() in used:
                identifier = f"{identifier[:24]}{customer.index}"
            used.add(identifier.lower())
            company = self.add("companies", {
                "identifier": identifier, "name": customer.name[:50], "status": {"id": 1, "name": "Active"},
                "addressLine1": customer.address, "city": customer.city, "state": customer.state,
                "zip": customer.postal_code, "country": {"id": 1, "name": "United States"},
                "phoneNumber": customer.phone, "website": customer.domain, "accountNumber": customer.key,
                "types": [{"id": 1, "name": "Customer"}], "isVendorFlag": False, "deletedFlag": False,
                "leadFlag": False, "unsubscribeFlag": False,
                "customFields": [{"id": 7, "caption": "Microsoft Tenant ID", "type": "Text",
                                  "entryMethod": "EntryField", "numberOfDecimals": 0,
                                  "value": customer.tenant_id if customer.index % 4 else None,
                                  "connectWiseId": "a7c1f2e0-0007-4c5e-9d0a-000000000007"}],
            }, customer.key)
            self._contact(company, "Office", "Manager")

    def _contact(self, company: dict[str, Any], first: str, last: str) -> None:
        contact = {"firstName": first, "lastName": last, "inactiveFlag": False, "defaultFlag": True,
                   "company": models.reference("company", company, models.COMPANY, self.base_url, "company")}
        row = self.add("contacts", contact, f"contact:{company['identifier']}")
        company["defaultContact"] = models.reference("contact", row, models.CONTACT, self.base_url, "defaultContact")

    def catalog(self) -> None:
        vendor = self.ref("companies", "TDSYNNEX", "vendor")
        for index, product in enumerate(self.world.hand_made_psa_products):
            # A person typed these in: prices drift from the distributor's, some fields are missing.
            price = product.msrp if index % 3 else (product.msrp * Decimal("1.05")).quantize(Decimal("0.01"))
            item: dict[str, Any] = {
                "identifier": product.mpn, "description": product.description[:60],
                "customerDescription": product.long_description[:6000], "inactiveFlag": False,
                "subcategory": self.ref("subcategories", product.category_name, "subcategory"),
                "type": self.ref("productTypes", "Hardware", "type"),
                "category": self.ref("categories", "Hardware", "category"),
                "productClass": "Inventory" if index % 4 == 0 else "NonInventory",
                "unitOfMeasure": self.ref("unitsOfMeasure", "Each", "unitOfMeasure"),
                "price": float(price), "cost": float(product.cost), "manufacturerPartNumber": product.mpn,
                "taxableFlag": True, "billableOption": "Billable", "priceAttribute": "FixedFee",
                "serializedFlag": False, "dropShipFlag": False, "specialOrderFlag": False, "recurringFlag": False,
                "dateEntered": f"2024-03-0{1 + index % 9}T15:00:00Z",
            }
            if product.manufacturer != "Netgear":
                item["manufacturer"] = self.ref("manufacturers", product.manufacturer, "manufacturer")
            if index % 5:
                item["vendor"] = vendor
                item["vendorSku"] = product.synnex_sku
            self.add("catalogItems", item, product.mpn)
        for identifier, description, sub, kind, list_price, cost in SERVICE_ITEMS:
            category = "Services"
            self.add("catalogItems", {
                "identifier": identifier, "description": description, "customerDescription": description,
                "subcategory": self.ref("subcategories", sub, "subcategory"),
                "type": self.ref("productTypes", kind, "type"), "category": self.ref("categories", category,
                                                                                     "category"),
                "productClass": "Service", "price": list_price, "cost": cost, "inactiveFlag": False,
                "taxableFlag": False, "billableOption": "Billable", "recurringFlag": sub == "Managed Services",
                "unitOfMeasure": self.ref("unitsOfMeasure", "Each", "unitOfMeasure"),
                "dateEntered": "2023-11-15T09:00:00Z",
            }, identifier)

    def agreements(self) -> None:
        with_seats = {s.customer_index for s in self.world.seat_subscriptions}
        for customer in self.world.customers:
            if not customer.in_psa:
                continue
            company = self.by_name[("companies", customer.key)]
            base = {
                "company": self.ref("companies", customer.key, "company"),
                "contact": self.ref("contacts", f"contact:{company['identifier']}", "contact"),
                "startDate": "2025-01-01T00:00:00Z",
                "noEndingDateFlag": True, "billTime": "Billable", "billExpenses": "Billable",
                "billProducts": "Billable", "invoicingCycle": "ContractYear", "employeeCompRate": "Actual",
                "billAmount": 0.0, "taxable": False, "oneTimeFlag": False, "periodType": "Current",
                "billingCycle": {"id": 2, "name": "Monthly"}, "prorateFlag": True,
            }
            self._agreement({**base, "name": f"Managed Services - {customer.name}"[:100],
                             "type": self.ref("agreementTypes", "Managed Services", "type"), "cancelledFlag": False})
            if customer.index in with_seats:
                cancelled = customer.index % 7 == 3
                record = {**base, "name": f"Microsoft 365 - {customer.name}"[:100],
                          "type": self.ref("agreementTypes", "Microsoft 365", "type"), "cancelledFlag": cancelled}
                if cancelled:
                    record.update(dateCancelled="2025-06-30T00:00:00Z", reasonCancelled="Moved to another MSP")
                self._agreement(record)

    def _agreement(self, record: dict[str, Any]) -> None:
        record["agreementStatus"] = rules.agreement_status(record, self.now)
        self.add("agreements", record)

    def purchase_orders(self) -> None:
        items = [r for r in self.store.table("catalogItems").rows() if r.get("vendorSku")][:4]
        for number, (status, lines) in enumerate([("New", items[:2]), ("Closed", items[2:4])], start=1):
            po = self.add("purchaseOrders", {
                "poNumber": f"PO{number:06d}", "poDate": f"2025-09-0{number}T10:00:00Z",
                "status": self.ref("purchaseOrderStatuses", status, "status"),
                "terms": self.ref("billingTerms", "Net 30", "terms"),
                "vendorCompany": self.ref("companies", "TDSYNNEX", "vendorCompany"),
                "closedFlag": status == "Closed", "dropShipCustomerFlag": False, "enteredBy": "sandboxapi",
                "freightCost": 0.0, "salesTax": 0.0, "subTotal": 0.0, "total": 0.0,
            })
            for line_number, item in enumerate(lines, start=1):
                self.add("purchaseOrderLineItems", {
                    "purchaseOrderId": po["id"], "purchaseOrderNumber": po["poNumber"], "lineNumber": line_number,
                    "product": models.reference("ivitem", item, models.CATALOG_ITEM, self.base_url, "product"),
                    "description": item["description"], "quantity": 2.0, "unitCost": item["cost"],
                    "extCost": round(2 * item["cost"], 2), "vendorSku": item["vendorSku"],
                    "unitOfMeasure": self.ref("unitsOfMeasure", "Each", "unitOfMeasure"),
                    "receivedStatus": "FullyReceived" if status == "Closed" else "Waiting",
                    "receivedQuantity": 2 if status == "Closed" else 0, "canceledFlag": False,
                    "closedFlag": status == "Closed", "backorderedFlag": False,
                })
            rules.refresh_po_totals(self.store, po["id"])


def bulk_catalog_items(store: RecordStore, world: World, count: int, now: datetime, base_url: str) -> int:
    """Top the catalog up to ``count`` items from ``world.hardware`` (benchmarks): returns how many exist."""
    table = store.table("catalogItems")
    existing = {str(r.get("identifier", "")).casefold() for r in table.rows()}
    subs = {r["name"]: r for r in store.table("subcategories").rows()}
    hardware_type = next(r for r in store.table("productTypes").rows() if r["name"] == "Hardware")
    type_ref = models.reference("name", hardware_type, models.PRODUCT_TYPE, base_url, "type")
    index = 0
    while len(table) < count:
        product = world.hardware[index % len(world.hardware)]
        identifier = product.mpn if index < len(world.hardware) else f"{product.mpn}-{index // len(world.hardware)}"
        index += 1
        if identifier.casefold() in existing:
            continue
        existing.add(identifier.casefold())
        record = {
            "identifier": identifier, "description": product.description[:60],
            "customerDescription": product.long_description, "inactiveFlag": False,
            "subcategory": models.reference("name", subs[product.category_name], models.SUBCATEGORY, base_url,
                                            "subcategory"),
            "type": type_ref, "productClass": "NonInventory", "price": float(product.msrp),
            "cost": float(product.cost), "manufacturerPartNumber": product.mpn, "vendorSku": product.synnex_sku,
            "dateEntered": rules.stamp(now),
        }
        rules.info(record, now)
        table.insert({"id": table.next_id(), **record})
    return len(table)
