"""Create / update / delete with Autotask's field and entity rules (docs/vendors/autotask.md §A.3, §A.7, §A.8).

Every refusal is ``EntityError`` → HTTP 500 ``{"errors": [message]}``, as the real API answers
business-rule failures. Messages quoted in the reference are reproduced verbatim (the UNIQUE KEY
violation of Services, "Value does not reference an existing entity for X . "); the others follow
that style and are assumptions (noted where they are made).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from channelsync.sandbox.autotask import records
from channelsync.sandbox.autotask.indexes import where
from channelsync.sandbox.autotask.metadata import (
    COMPANY_TYPE,
    PICKLISTS,
    PO_STATUS,
    RECURRING_SERVICE,
    USE_TYPE,
    entity_meta,
    rule,
)
from channelsync.sandbox.autotask.query import QueryError, coerce
from channelsync.sandbox.store import RecordStore


class EntityError(Exception):
    pass


def missing_reference(field: str) -> EntityError:
    return EntityError(f"Value does not reference an existing entity for {field} . ")


class Writer:
    def __init__(self, store: RecordStore, now: Callable[[], datetime]) -> None:
        self.store = store
        self.now = now

    # ---- generic field handling -------------------------------------------------------------------
    def normalize(self, entity: str, body: Any) -> dict[str, Any]:
        """Case-insensitive keys → model names; unknown and read-only fields dropped; types checked."""
        if not isinstance(body, dict):
            raise EntityError("The request body must be a JSON object.")
        meta = entity_meta(entity)
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key.lower() == "userdefinedfields" and meta.has_udfs:
                out["userDefinedFields"] = value if isinstance(value, list) else []
                continue
            name = meta.lower.get(key.lower())
            if name is None:
                continue  # unknown properties are ignored by the deserializer
            if name != "id" and rule(entity, name).read_only:
                continue  # read-only fields sent on create/update are ignored (A.3)
            out[name] = self._typed(name, meta.fields[name], value)
        return out

    @staticmethod
    def _typed(name: str, data_type: str, value: Any) -> Any:
        if value is None:
            return None
        if data_type == "boolean":
            if not isinstance(value, bool):  # booleans must be literal true/false (A.3)
                raise EntityError(f"The value for {name} must be true or false.")
            return value
        try:
            if data_type in ("integer", "long"):
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError(value)
                return int(value)
            if data_type == "decimal":
                return records.money(value)
            if data_type == "datetime":
                coerce(value, "datetime")
                return str(value) if "T" in str(value) else f"{value}T00:00:00Z"
        except (TypeError, ValueError, QueryError) as exc:
            raise EntityError(f"The value '{value}' is not valid for {name} ({data_type}).") from exc
        return str(value)

    def check(self, entity: str, record: dict[str, Any]) -> None:
        meta = entity_meta(entity)
        for name in meta.fields:
            r = rule(entity, name)
            value = record.get(name)
            if r.required and (value is None or value == ""):
                raise EntityError(f"Missing Required Field: {name}")  # wording assumed
            if r.length is not None and isinstance(value, str) and len(value) > r.length:
                raise EntityError(f"{name}: Value exceeds the maximum length of {r.length} characters.")
            values = PICKLISTS.get((entity, name))
            if values is not None and value is not None and str(value) not in {v["value"] for v in values}:
                raise missing_reference(name)
            if r.reference and value is not None and not self._exists(r.reference, value):
                raise missing_reference(name)

    def _exists(self, singular: str, key: Any) -> bool:
        table = {"Company": "Companies", "BillingCode": "BillingCodes", "Product": "Products",
                 "Contract": "Contracts", "Service": "Services", "ServiceBundle": "ServiceBundles",
                 "InventoryLocation": "InventoryLocations", "ShippingType": "ShippingTypes",
                 "PurchaseOrder": "PurchaseOrders", "PurchaseOrderItem": "PurchaseOrderItems"}.get(singular)
        return table is None or self.store.table(table).get(int(key)) is not None

    # ---- operations ---------------------------------------------------------------------------------
    def create(self, entity: str, body: Any, *, forced: dict[str, Any] | None = None) -> int:
        values = self.normalize(entity, body)
        values.pop("id", None)
        values.update(forced or {})
        defaults = CREATE_DEFAULTS.get(entity, {})
        record = records.new(entity, {**defaults, **values})
        before = BEFORE_CREATE.get(entity)
        if before is not None:
            before(self, record)
        self.check(entity, record)
        special = CREATE_OVERRIDE.get(entity)
        if special is not None:
            return special(self, record)
        table = self.store.table(entity)
        with table.lock:
            unique = UNIQUE.get(entity)
            if unique is not None:
                unique(self, record, None)
            table.insert(record)
        after = AFTER_WRITE.get(entity)
        if after is not None:
            after(self, record, None)
        return int(record["id"])

    def update(self, entity: str, body: Any, *, replace: bool, forced: dict[str, Any] | None = None) -> int:
        values = self.normalize(entity, body)
        key = values.pop("id", None)
        if key is None:
            raise EntityError("The id of the entity to update is required.")  # wording assumed
        table = self.store.table(entity)
        current = table.get(int(key))
        if current is None or any(current.get(k) != v for k, v in (forced or {}).items()):
            raise EntityError(f"Unable to find a {entity_meta(entity).singular} with id {key}.")  # assumed
        for name in FROZEN_AFTER_CREATE.get(entity, ()):
            values.pop(name, None)
        allowed = UPDATABLE.get(entity)
        if allowed is not None:
            values = {k: v for k, v in values.items() if k in allowed}
        if replace:  # PUT: writable fields not sent are cleared
            meta = entity_meta(entity)
            cleared = {n: None for n in meta.fields if n != "id" and not rule(entity, n).read_only
                       and n not in FROZEN_AFTER_CREATE.get(entity, ()) and (allowed is None or n in allowed)}
            values = {**cleared, **values}
        merged = {**current, **values}
        before = BEFORE_UPDATE.get(entity)
        if before is not None:
            before(self, merged, current)
        self.check(entity, merged)
        with table.lock:
            unique = UNIQUE.get(entity)
            if unique is not None:
                unique(self, merged, current)
            previous = dict(current)
            table.update(current["id"], merged)  # in place, through the table: its indexes follow
        after = AFTER_WRITE.get(entity)
        if after is not None:
            after(self, current, previous)
        return int(current["id"])

    def stamp(self) -> str:
        return records.now_iso(self.now())


# ---- entity rules --------------------------------------------------------------------------------------

def _service_name_unique(writer: Writer, record: dict[str, Any], current: dict[str, Any] | None) -> None:
    """Service names are unique (case-insensitively, as SQL Server's default collation compares). The text is
    Autotask's as PRISM Connect's manual quotes it (its troubleshooting table: "Violation of UNIQUE KEY
    constraint 'IX_service'. Cannot insert duplicate key in object 'dbo.Service'. The duplicate key value is
    (…). Error updating database for new entity records."); that the key value is the name alone is an
    assumption (the manual masks it)."""
    name = str(record.get("name") or "").lower()
    for row in writer.store.table("Services").rows():
        if row is not current and str(row.get("name") or "").lower() == name:
            raise EntityError(
                "Violation of UNIQUE KEY constraint 'IX_service'. Cannot insert duplicate key in object "
                f"'dbo.Service'. The duplicate key value is ({record.get('name')}). "
                "Error updating database for new entity records."
            )


def _location_name_unique(writer: Writer, record: dict[str, Any], current: dict[str, Any] | None) -> None:
    name = str(record.get("locationName") or "").lower()
    if any(row is not current and str(row.get("locationName") or "").lower() == name
           for row in writer.store.table("InventoryLocations").rows()):
        raise EntityError("An inventory location with this name already exists.")  # wording assumed


def _inventory_item_unique(writer: Writer, record: dict[str, Any], current: dict[str, Any] | None) -> None:
    # One InventoryItem per product and location (Autotask's inventory grid); the wording is assumed.
    for row in writer.store.table("InventoryItems").rows():
        if row is not current and row.get("productID") == record.get("productID") and \
                row.get("inventoryLocationID") == record.get("inventoryLocationID"):
            raise EntityError("This product is already stocked at this inventory location.")


def _recurring_code(writer: Writer, record: dict[str, Any], _current: dict[str, Any] | None = None) -> None:
    code = writer.store.table("BillingCodes").get(int(record.get("billingCodeID") or -1))
    if code is not None and (not code.get("isActive") or code.get("useType") != USE_TYPE["Recurring Contract Service"]):
        # Documented rule (A.7): an active Recurring Service contract allocation code; wording assumed.
        raise EntityError("billingCodeID must reference an active Recurring Contract Service allocation code.")


def _service_stamps(writer: Writer, record: dict[str, Any], current: dict[str, Any] | None = None) -> None:
    _recurring_code(writer, record)
    record["lastModifiedDate"] = writer.stamp()
    if current is None:
        record["createDate"] = writer.stamp()


def _vendor_company(writer: Writer, record: dict[str, Any], _current: dict[str, Any] | None = None) -> None:
    vendor = writer.store.table("Companies").get(int(record.get("vendorID") or -1))
    if vendor is not None and vendor.get("companyType") != COMPANY_TYPE["Vendor"]:
        raise missing_reference("vendorID")


def _product_vendor_default(writer: Writer, record: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """Products.defaultVendorID follows the product's default vendor row, as in Autotask (docs/vendors/autotask.md §A.7:
    one default vendor per product): a new default row makes the others non-default; a default row made
    non-default (or inactive) leaves the product without a default vendor. Clearing is assumed behaviour."""
    products = writer.store.table("Products")
    if record.get("isDefault") and record.get("isActive", True):
        for row in writer.store.table("ProductVendors").find_by("productID", record["productID"]):
            if row is not record:
                row["isDefault"] = False
        products.update(record["productID"], {"defaultVendorID": record["vendorID"]})
        return
    product = products.get(int(record["productID"]))
    if previous is None or product is None:
        return
    was_default = previous.get("isDefault") and previous.get("isActive", True)
    if was_default and product.get("defaultVendorID") == previous.get("vendorID"):
        products.update(record["productID"], {"defaultVendorID": None})


def _contract_renewed(writer: Writer, record: dict[str, Any], previous: dict[str, Any] | None) -> None:
    if previous is not None and record.get("endDate") and previous.get("endDate") and \
            records.to_date(record["endDate"]) > records.to_date(previous["endDate"]):
        records.extend_units(writer.store, record)


def _contract_dates(writer: Writer, record: dict[str, Any], _current: dict[str, Any] | None = None) -> None:
    if record.get("startDate") and record.get("endDate") and \
            coerce(record["startDate"], "datetime") >= coerce(record["endDate"], "datetime"):
        raise EntityError("The contract end date must be after the start date.")  # wording assumed


def _recurring_contract(writer: Writer, contract_id: Any) -> dict[str, Any]:
    contract = writer.store.table("Contracts").get(int(contract_id or -1))
    if contract is None:
        raise missing_reference("contractID")
    if contract.get("contractType") != RECURRING_SERVICE:
        raise EntityError("contractID must reference a Recurring Service type Contract (contractType = 7).")
    return contract


def _create_contract_service(writer: Writer, record: dict[str, Any]) -> int:
    contract = _recurring_contract(writer, record["contractID"])
    service = writer.store.table("Services").get(int(record["serviceID"]))
    if service is None:
        raise missing_reference("serviceID")
    created = records.add_contract_service(
        writer.store, contract, service, units=0, effective=records.to_date(contract["startDate"]),
        unit_price=record.get("unitPrice"), unit_cost=record.get("unitCost"),
    )
    given = {name: record[name] for name in ("invoiceDescription", "internalDescription", "quoteItemID")
             if record.get(name) is not None}
    if given:
        writer.store.table("ContractServices").update(created["id"], given)  # in place: its indexes follow
    return int(created["id"])


def _create_adjustment(writer: Writer, record: dict[str, Any]) -> int:
    contract = _recurring_contract(writer, record["contractID"])
    effective = records.to_date(record["effectiveDate"])
    start, end = records.to_date(contract["startDate"]), records.to_date(contract["endDate"])
    if not start <= effective <= end:
        # The real text was not found in public material; this wording is an assumption.
        raise EntityError("The effectiveDate must be within the contract's start date and end date.")
    service = writer.store.table("Services").get(int(record["serviceID"]))
    if service is None:
        raise missing_reference("serviceID")
    services = writer.store.table("ContractServices")
    existing = [r for r in where(services, "contractID", contract["id"]) if r["serviceID"] == service["id"]]
    contract_service = existing[0] if existing else None
    if contract_service is None:  # the API creates the ContractService when none matches (A.7)
        contract_service = records.add_contract_service(
            writer.store, contract, service, units=0, effective=start,
            unit_price=record.get("adjustedUnitPrice"), unit_cost=record.get("adjustedUnitCost"),
        )
    records.apply_adjustment(
        writer.store, contract_service, effective=effective, unit_change=int(record.get("unitChange") or 0),
        unit_price=record.get("adjustedUnitPrice"), unit_cost=record.get("adjustedUnitCost"),
    )
    record["contractServiceID"] = contract_service["id"]
    writer.store.table("ContractServiceAdjustments").insert(record)
    return int(record["id"])


def _charge_amounts(writer: Writer, record: dict[str, Any], current: dict[str, Any] | None = None) -> None:
    """ContractCharges: the server-owned amounts and stamps. A billed charge (approved and posted) can no
    longer be changed (SOAP ContractCost: updatable and deletable only while not billed); the wording of
    the refusal is assumed."""
    if current is not None and current.get("isBilled"):
        raise EntityError("This charge has been billed and can no longer be changed.")
    quantity = float(record.get("unitQuantity") or 0)
    price, cost = float(record.get("unitPrice") or 0), float(record.get("unitCost") or 0)
    billable = bool(record.get("isBillableToCompany"))
    record["billableAmount"] = record["internalCurrencyBillableAmount"] = records.money(
        quantity * price if billable else 0)
    record["extendedCost"] = records.money(quantity * cost)
    record["internalCurrencyUnitPrice"] = records.money(price)
    if current is None:
        from channelsync.sandbox.autotask.seed import OWNER_RESOURCE_ID

        record.update(isBilled=False, createDate=writer.stamp(), creatorResourceID=OWNER_RESOURCE_ID)


def _po_status(writer: Writer, record: dict[str, Any], current: dict[str, Any] | None = None) -> None:
    _vendor_company(writer, record)
    status = record.get("status")
    if current is None:
        record["createDateTime"] = writer.stamp()
    if status == PO_STATUS["Submitted"] and (current is None or current.get("status") != status):
        record["submitDateTime"] = writer.stamp()
    if status == PO_STATUS["Cancelled"] and (current is None or current.get("status") != status):
        record["cancelDateTime"] = writer.stamp()


def _po_item_create(writer: Writer, record: dict[str, Any]) -> None:
    order = writer.store.table("PurchaseOrders").get(int(record.get("orderID") or -1))
    if order is None:
        raise missing_reference("orderID")
    if order.get("status") != PO_STATUS["New"]:
        # Documented rule (A.7: items are created only while the PO is New); wording assumed.
        raise EntityError("Purchase order items can only be added to a purchase order with a status of New.")


def _po_item_update(writer: Writer, record: dict[str, Any], _current: dict[str, Any]) -> None:
    order = writer.store.table("PurchaseOrders").get(int(record["orderID"]))
    allowed = {PO_STATUS["New"], PO_STATUS["Submitted"], PO_STATUS["Received Partial"]}
    if order is None or order.get("status") not in allowed:
        raise EntityError("Purchase order items can only be updated while the purchase order is New, "
                          "Submitted or Received Partial.")  # wording assumed


def _receive(writer: Writer, record: dict[str, Any]) -> int:
    item = writer.store.table("PurchaseOrderItems").get(int(record["purchaseOrderItemID"]))
    if item is None:
        raise missing_reference("purchaseOrderItemID")
    orders = writer.store.table("PurchaseOrders")
    order = orders.get(int(item["orderID"]))
    if order is None or order.get("status") not in (PO_STATUS["Submitted"], PO_STATUS["Received Partial"]):
        raise EntityError("Items can only be received once the purchase order has been submitted.")  # assumed
    receipts = writer.store.table("PurchaseOrderItemReceiving")
    previously = sum(int(r["quantityNowReceiving"] or 0) for r in receipts.rows()
                     if r["purchaseOrderItemID"] == item["id"])
    now_receiving = int(record["quantityNowReceiving"])
    if now_receiving <= 0 or previously + now_receiving > int(item["quantity"]):
        raise EntityError("quantityNowReceiving must be greater than zero and cannot exceed the quantity "
                          "still to be received.")  # wording assumed
    record.update(quantityPreviouslyReceived=previously,
                  quantityBackOrdered=int(item["quantity"]) - previously - now_receiving,
                  receiveDate=record.get("receiveDate") or writer.stamp())
    receipts.insert(record)
    _stock(writer, item, now_receiving)
    outstanding = 0
    for other in writer.store.table("PurchaseOrderItems").rows():
        if other["orderID"] == order["id"]:
            got = sum(int(r["quantityNowReceiving"] or 0) for r in receipts.rows()
                      if r["purchaseOrderItemID"] == other["id"])
            outstanding += int(other["quantity"]) - got
    order["status"] = PO_STATUS["Received Full"] if outstanding <= 0 else PO_STATUS["Received Partial"]
    return int(record["id"])


def _stock(writer: Writer, item: dict[str, Any], quantity: int) -> None:
    """Receiving moves quantity into InventoryItem.quantityOnHand (A.7)."""
    inventory = writer.store.table("InventoryItems")
    with inventory.lock:
        for row in inventory.rows():
            if row["productID"] == item["productID"] and row["inventoryLocationID"] == item["inventoryLocationID"]:
                row["quantityOnHand"] = int(row["quantityOnHand"] or 0) + quantity
                return
        inventory.insert(records.new("InventoryItems", {
            "productID": item["productID"], "inventoryLocationID": item["inventoryLocationID"],
            "quantityOnHand": quantity, "quantityMinimum": 0, "quantityMaximum": 0,
        }))


Hook = Callable[[Writer, dict[str, Any]], None]
CREATE_DEFAULTS: dict[str, dict[str, Any]] = {
    "Services": {"isActive": True}, "ServiceBundles": {"isActive": True}, "Products": {"billingType": 1},
    "InventoryItems": {"quantityOnHand": 0}, "Contracts": {"userDefinedFields": []},
    # ASSUMPTION: a charge is billable unless told otherwise (the UI's default; not in our sources).
    "ContractCharges": {"isBillableToCompany": True},
}
BEFORE_CREATE: dict[str, Callable[[Writer, dict[str, Any]], None]] = {
    "Services": _service_stamps, "ServiceBundles": _service_stamps, "ProductVendors": _vendor_company,
    "Contracts": _contract_dates, "PurchaseOrders": _po_status, "PurchaseOrderItems": _po_item_create,
    "ContractCharges": _charge_amounts,
}
BEFORE_UPDATE: dict[str, Callable[[Writer, dict[str, Any], dict[str, Any]], None]] = {
    "Services": _service_stamps, "ServiceBundles": _service_stamps, "ProductVendors": _vendor_company,
    "Contracts": _contract_dates, "PurchaseOrders": _po_status, "PurchaseOrderItems": _po_item_update,
    "ContractCharges": _charge_amounts,
}
CREATE_OVERRIDE: dict[str, Callable[[Writer, dict[str, Any]], int]] = {
    "ContractServices": _create_contract_service, "ContractServiceAdjustments": _create_adjustment,
    "PurchaseOrderItemReceiving": _receive,
}
UNIQUE: dict[str, Callable[[Writer, dict[str, Any], dict[str, Any] | None], None]] = {
    "Services": _service_name_unique, "InventoryLocations": _location_name_unique,
    "InventoryItems": _inventory_item_unique,
}
AFTER_WRITE: dict[str, Callable[[Writer, dict[str, Any], dict[str, Any] | None], None]] = {
    "ProductVendors": _product_vendor_default, "Contracts": _contract_renewed,
}
FROZEN_AFTER_CREATE: dict[str, tuple[str, ...]] = {
    "Contracts": ("companyID", "contractType"), "PurchaseOrders": ("vendorID",),
    "InventoryItems": ("productID", "inventoryLocationID"), "ProductVendors": ("productID",),
    "PurchaseOrderItems": ("orderID",),
}
# ContractServices: only the adjusted price and descriptions change on update (A.7).
UPDATABLE: dict[str, frozenset[str]] = {
    "ContractServices": frozenset({"unitPrice", "unitCost", "invoiceDescription", "internalDescription"}),
}
