"""The emulated Autotask tenant's data, drawn from the shared world so every system agrees.

- Companies: the tenant itself (id 0), every world customer with ``in_psa`` (companyNumber = the
  world key, e.g. ``C0007``), and vendor companies (TD SYNNEX, Pax8, Crayon).
- Products "made by hand" from ``world.hand_made_psa_products`` (MPN in ``manufacturerProductName``,
  the swagger's field for the manufacturer part number; no channelsync link), half of them with a
  TD SYNNEX ProductVendor row.
- A Recurring Service contract (type 7) per customer, with a hand-made service and its units (the
  first one also carries a person's one-off ContractCharge, already billed);
  billing codes, inventory locations, shipping types, a UDF definition, a service bundle, two POs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from channelsync.sandbox.autotask import records
from channelsync.sandbox.autotask.metadata import (
    CHARGE_TYPE,
    COMPANY_TYPE,
    CONTRACT_TYPE,
    PERIOD_TYPE,
    PO_STATUS,
    PRODUCT_CATEGORY,
    USE_TYPE,
)
from channelsync.sandbox.store import RecordStore
from channelsync.sandbox.world import World

OWNER_RESOURCE_ID = 29682885  # the tenant's administrator resource (a real-looking Autotask id)
VENDORS = ["TD SYNNEX", "Pax8", "Crayon"]
PRODUCT_UDF = "Distributor SKU"
CONTRACT_START, CONTRACT_END = date(2025, 1, 1), date(2027, 12, 31)


def iso(day: date | datetime) -> str:
    if isinstance(day, datetime):
        return day.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{day.microsecond // 1000:03d}Z"
    return f"{day.isoformat()}T00:00:00Z"


def seed(store: RecordStore, world: World, now: datetime) -> None:
    stamp = iso(now)
    companies = store.table("Companies", first_id=1)
    companies.insert(records.new("Companies", {
        "id": 0, "companyName": "Channelsync Demo MSP", "companyType": COMPANY_TYPE["Partner"],
        "phone": "+1-555-010-0000", "ownerResourceID": OWNER_RESOURCE_ID, "isActive": True, "createDate": stamp,
    }))
    vendor_ids = {}
    for name in VENDORS:
        row = companies.insert(records.new("Companies", {
            "companyName": name, "companyType": COMPANY_TYPE["Vendor"], "phone": "+1-800-555-0100",
            "ownerResourceID": OWNER_RESOURCE_ID, "isActive": True, "createDate": stamp,
        }))
        vendor_ids[name] = row["id"]
    customer_company: dict[int, int] = {}
    for customer in world.customers:
        if not customer.in_psa:
            continue
        row = companies.insert(records.new("Companies", {
            "companyName": customer.name, "companyNumber": customer.key, "companyType": COMPANY_TYPE["Customer"],
            "phone": customer.phone, "address1": customer.address, "city": customer.city, "state": customer.state,
            "postalCode": customer.postal_code, "webAddress": f"https://{customer.domain}", "countryID": 237,
            "ownerResourceID": OWNER_RESOURCE_ID, "isActive": True, "createDate": stamp,
        }))
        customer_company[customer.index] = row["id"]

    codes = store.table("BillingCodes")
    code_ids = {}
    for name, use_type, active in [
        ("Labor", "Work Type", True), ("Hardware", "Material", True),
        ("Recurring Services", "Recurring Contract Service", True),
        ("Microsoft 365 Licensing", "Recurring Contract Service", True),
        ("Legacy Recurring (retired)", "Recurring Contract Service", False),
    ]:
        row = codes.insert(records.new("BillingCodes", {
            "name": name, "description": name, "useType": USE_TYPE[use_type], "billingCodeType": 0,
            "isActive": active, "unitPrice": 0.0, "unitCost": 0.0, "isExcludedFromNewContracts": False,
        }))
        code_ids[name] = row["id"]

    store.table("UserDefinedFieldDefinitions").insert(records.new("UserDefinedFieldDefinitions", {
        "name": PRODUCT_UDF, "dataType": 1, "udfType": 8, "isActive": True, "isRequired": False,
        "description": "The distributor's own SKU", "createDate": stamp, "sortOrder": 1,
    }))

    products = store.table("Products")
    vendors = store.table("ProductVendors")
    for index, item in enumerate(world.hand_made_psa_products):
        # Typed by a person: their own name, list price as the sell price, no distributor SKU.
        product = products.insert(records.new("Products", {
            "name": f"{item.manufacturer.split()[0]} {item.description.split(' ', 1)[-1]}"[:100],
            "description": item.long_description, "manufacturerName": item.manufacturer,
            "manufacturerProductName": item.mpn, "unitCost": float(item.cost), "unitPrice": float(item.msrp),
            "msrp": float(item.msrp), "productCategory": PRODUCT_CATEGORY[item.category_name], "isActive": True,
            "isSerialized": False, "productBillingCodeID": code_ids["Hardware"], "billingType": 1,
            "userDefinedFields": [{"name": PRODUCT_UDF, "value": None}],
        }))
        if index % 2 == 0:
            vendors.insert(records.new("ProductVendors", {
                "productID": product["id"], "vendorID": vendor_ids["TD SYNNEX"], "vendorPartNumber": item.synnex_sku,
                "vendorCost": float(item.cost), "isDefault": True, "isActive": True,
            }))
            products.update(product["id"], {"defaultVendorID": vendor_ids["TD SYNNEX"]})

    services = store.table("Services")
    managed = services.insert(records.new("Services", {
        "name": "Managed Workstation", "description": "Monitoring and patching per workstation",
        "invoiceDescription": "Managed Workstation", "unitPrice": 45.0, "unitCost": 12.0,
        "periodType": PERIOD_TYPE["Monthly"], "billingCodeID": code_ids["Recurring Services"], "isActive": True,
        "createDate": stamp, "lastModifiedDate": stamp, "creatorResourceID": OWNER_RESOURCE_ID,
    }))
    offer = world.offers[0]
    services.insert(records.new("Services", {
        "name": f"PC_{offer.nce_id}", "description": offer.name, "invoiceDescription": offer.name,
        "unitPrice": float(offer.rrp), "unitCost": float(offer.unit_cost), "periodType": PERIOD_TYPE["Monthly"],
        "billingCodeID": code_ids["Microsoft 365 Licensing"], "isActive": True, "createDate": stamp,
        "lastModifiedDate": stamp, "creatorResourceID": OWNER_RESOURCE_ID,
    }))
    bundle = store.table("ServiceBundles").insert(records.new("ServiceBundles", {
        "name": "Managed Office Bundle", "description": "Workstation management and licensing",
        "unitPrice": 60.0, "unitCost": 20.0, "periodType": PERIOD_TYPE["Monthly"],
        "billingCodeID": code_ids["Recurring Services"], "isActive": True, "createDate": stamp,
        "lastModifiedDate": stamp,
    }))
    store.table("ServiceBundleServices").insert(records.new("ServiceBundleServices", {
        "serviceBundleID": bundle["id"], "serviceID": managed["id"],
    }))

    contracts = store.table("Contracts")
    charged = False
    for customer_index, company_id in customer_company.items():
        customer = world.customers[customer_index]
        contract = contracts.insert(records.new("Contracts", {
            "companyID": company_id, "contractName": f"{customer.name} - Managed Services",
            "contractNumber": f"RS-{customer.key}", "contractType": CONTRACT_TYPE["Recurring Service"],
            "status": 1, "startDate": iso(CONTRACT_START), "endDate": iso(CONTRACT_END),
            "timeReportingRequiresStartAndStopTimes": 1, "isDefaultContract": False,
            "userDefinedFields": [],
        }))
        records.add_contract_service(store, contract, managed, units=5 + customer_index % 20, effective=CONTRACT_START)
        if not charged:  # a person's one-off charge, already billed (channelsync must leave it alone)
            charged = True
            store.table("ContractCharges").insert(records.new("ContractCharges", {
                "contractID": contract["id"], "name": "Onboarding fee", "description": "Initial setup",
                "datePurchased": iso(date(2025, 1, 15)), "unitQuantity": 1.0, "unitPrice": 250.0, "unitCost": 0.0,
                "chargeType": CHARGE_TYPE["Operational"], "isBillableToCompany": True, "isBilled": True,
                "billableAmount": 250.0, "internalCurrencyBillableAmount": 250.0, "internalCurrencyUnitPrice": 250.0,
                "extendedCost": 0.0, "createDate": stamp, "creatorResourceID": OWNER_RESOURCE_ID,
            }))
        if customer_index % 4 == 0:  # some customers also have a T&M contract, which billing must skip
            contracts.insert(records.new("Contracts", {
                "companyID": company_id, "contractName": f"{customer.name} - Time & Materials",
                "contractType": CONTRACT_TYPE["Time & Materials"], "status": 1,
                "startDate": iso(CONTRACT_START), "endDate": iso(CONTRACT_END),
                "timeReportingRequiresStartAndStopTimes": 1, "userDefinedFields": [],
            }))

    locations = store.table("InventoryLocations")
    main = locations.insert(records.new("InventoryLocations", {
        "locationName": "Main Warehouse", "isActive": True, "isDefault": True,
    }))
    locations.insert(records.new("InventoryLocations", {"locationName": "Van Stock", "isActive": True,
                                                         "isDefault": False}))
    shipping = store.table("ShippingTypes")
    for name in ["Ground", "2nd Day Air", "Next Day Air", "Will Call"]:
        shipping.insert(records.new("ShippingTypes", {"name": name, "description": name, "isActive": True}))

    _seed_purchase_orders(store, vendor_ids["TD SYNNEX"], main["id"], stamp)


def _seed_purchase_orders(store: RecordStore, vendor_id: int, location_id: int, stamp: str) -> None:
    product_rows = store.table("Products").rows()[:3]
    orders = store.table("PurchaseOrders")
    items = store.table("PurchaseOrderItems")
    for status in ("New", "Submitted"):
        order = orders.insert(records.new("PurchaseOrders", {
            "vendorID": vendor_id, "status": PO_STATUS[status], "shipToName": "Channelsync Demo MSP",
            "shipToAddress1": "100 Main St", "shipToCity": "Denver", "shipToState": "CO",
            "shipToPostalCode": "80202", "createDateTime": stamp, "creatorResourceID": OWNER_RESOURCE_ID,
            "submitDateTime": stamp if status == "Submitted" else None, "shippingType": 1,
        }))
        for product in product_rows:
            fields: dict[str, Any] = {
                "orderID": order["id"], "productID": product["id"], "inventoryLocationID": location_id,
                "quantity": 2, "unitCost": product["unitCost"],
            }
            items.insert(records.new("PurchaseOrderItems", fields))
