"""Purchase orders in the sandbox PSAs, made and read as a person (or the PSA's own UI) would: through the
PSA's REST API (the channelsync clients, used here as plain HTTP clients), and TD SYNNEX's own order
store read through the control API — the counts tests assert on never come from channelsync's records."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from channelsync.connections import SettingsClientFactory, connections_from_settings
from channelsync.sandbox.control_client import SandboxControl

ROOT = Path(__file__).resolve().parents[2]
INTEGRATIONS = ("demo-autotask", "demo-connectwise")
SYSTEM = {"demo-autotask": "autotask", "demo-connectwise": "connectwise"}
PREFIX = {"demo-autotask": "AT-", "demo-connectwise": ""}
SHIP_TO = {"name": "Contoso Dental", "address1": "100 Main St", "city": "Denver", "state": "CO",
           "zip_code": "80202"}


def clients(sandbox_url: str) -> tuple[Any, Any, Any]:
    """(Autotask, ConnectWise, TD SYNNEX XML) clients of the sandbox connections."""
    factory = SettingsClientFactory(connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=sandbox_url))
    return (factory("autotask", "sandbox_autotask"), factory("connectwise", "sandbox_connectwise"),
            factory("tdsynnex_xml", "sandbox_tdsynnex_xml"))


def tds_orders(control: SandboxControl) -> dict[str, dict[str, Any]]:
    """TD SYNNEX's own order store: customer PO number → order."""
    return {str(o["PONumber"]): o for o in control.records("tdsynnex", "po_orders")}


def tds_invoice_numbers(control: SandboxControl, po_number: str) -> list[str]:
    """The invoice numbers TD SYNNEX's own store holds for a customer PO number, oldest first."""
    return [str(i["invoiceNumber"]) for i in control.record("tdsynnex", "po_orders", po_number).get("invoices") or []]


def tds_duplicate_submissions(control: SandboxControl) -> Counter[str]:
    """Resubmissions of a known customer PO number that reached TD SYNNEX (refused there as duplicates)."""
    return Counter(str(r["PONumber"]) for r in control.records("tdsynnex", "po_duplicates"))


@dataclass
class OrderDesk:
    """Makes and reads one integration's POs to TD SYNNEX."""

    control: SandboxControl
    integration: str
    sandbox_url: str
    _skus: list[tuple[str, float]] = field(default_factory=list)
    _products: dict[str, Any] = field(default_factory=dict)
    _reference: dict[str, Any] = field(default_factory=dict)  # vendor, location, terms …: read once per desk

    def __post_init__(self) -> None:
        autotask, connectwise, self.tds = clients(self.sandbox_url)
        self.system = SYSTEM[self.integration]
        self.psa = autotask if self.system == "autotask" else connectwise
        self._park_seeded()

    def _park_seeded(self) -> None:
        """The seeded Autotask tenant has a Submitted PO to TD SYNNEX (made by hand, lines without SKUs): a
        person sets it back to New, so a test's counts are its own POs."""
        if self.system == "autotask":
            statuses = self.psa.picklist("PurchaseOrders", "status")
            for po in self.control.records("autotask", "PurchaseOrders"):
                if po["status"] == statuses["Submitted"]:
                    self.control.edit_record("autotask", "PurchaseOrders", po["id"], {"status": statuses["New"]})

    def _once(self, name: str, read: Any) -> Any:
        """Reference data a PO needs (the vendor company, a location, statuses), read at the first PO."""
        if name not in self._reference:
            self._reference[name] = read()
        return self._reference[name]

    # ---- TD SYNNEX products an order can use -----------------------------------------------------
    def skus(self, count: int) -> list[tuple[str, float]]:
        """(SKU, current TD SYNNEX price) of active products with plenty of stock (and, for ConnectWise, a
        catalog item carrying the SKU)."""
        if len(self._skus) < count:
            wanted = {str(r["synnexSKU"]) for r in self.control.records("tdsynnex", "products")
                      if r.get("status") == "Active" and r.get("authorized", True)
                      and sum(int(q) for q in (r.get("warehouses") or {}).values()) >= 100}
            if self.system == "connectwise":
                items = {str(i["vendorSku"]): i for i in self.control.records("connectwise", "catalogItems")
                         if i.get("vendorSku")}
                self._products.update(items)
                wanted &= set(items)
            chosen = sorted(wanted)[: max(count, 12)]
            prices = {r.requested: float(r.price) for r in self.tds.price_availability(skus=chosen)}
            self._skus = [(sku, prices[sku]) for sku in chosen]
        return self._skus[:count]

    # ---- making POs --------------------------------------------------------------------------------
    def make(self, lines: list[tuple[str, float, float]], *, ship_to: dict[str, str] | None = None) -> str:
        """A PO to TD SYNNEX in the submit state with ``lines`` of (SKU, quantity, unit cost); returns its
        TD SYNNEX customer PO number."""
        ship = {**SHIP_TO, **(ship_to or {})}
        if self.system == "autotask":
            return self._make_autotask(lines, ship)
        return self._make_connectwise(lines, ship)

    def make_valid(self, count: int, *, lines: int = 2, quantity: int = 1) -> list[str]:
        skus = self.skus(lines + 1)
        return [self.make([(sku, quantity, price) for sku, price in skus[n % 2: n % 2 + lines]] or
                          [(skus[0][0], quantity, skus[0][1])]) for n in range(count)]

    def _make_autotask(self, lines: list[tuple[str, float, float]], ship: dict[str, str]) -> str:
        psa = self.psa
        vendor = self._once("vendor", lambda: next(
            c["id"] for c in self.control.records("autotask", "Companies") if c["companyName"] == "TD SYNNEX"))
        location = self._once("location", lambda: self.control.records("autotask", "InventoryLocations")[0]["id"])
        statuses = psa.picklist("PurchaseOrders", "status")
        po_id = psa.create("PurchaseOrders", {
            "vendorID": vendor, "status": statuses["New"], "shipToName": ship["name"],
            "shipToAddress1": ship["address1"], "shipToCity": ship["city"], "shipToState": ship["state"],
            "shipToPostalCode": ship["zip_code"]})
        for sku, quantity, cost in lines:
            psa.create_child("PurchaseOrders", po_id, "Items", {
                "productID": self._autotask_product(sku), "inventoryLocationID": location, "quantity": int(quantity),
                "unitCost": cost})
        psa.update("PurchaseOrders", {"id": po_id, "status": statuses["Submitted"]})
        return f"{PREFIX[self.integration]}{po_id}"

    def _autotask_product(self, sku: str) -> int:
        if sku not in self._products:
            self._products[sku] = self.psa.create("Products", {
                "name": f"TD SYNNEX {sku}", "sku": sku, "isActive": True, "isSerialized": False})
        return int(self._products[sku])

    def _make_connectwise(self, lines: list[tuple[str, float, float]], ship: dict[str, str]) -> str:
        psa = self.psa
        status = self._once("status", lambda: next(
            s for s in psa.purchase_order_statuses() if s["name"] == "Send to TDS"))
        terms = self._once("terms", lambda: self.control.records("connectwise", "billingTerms")[0])
        vendor = self._once("vendor", lambda: next(
            c for c in self.control.records("connectwise", "companies") if c["identifier"] == "TDSYNNEX"))
        each = self._once("each", lambda: next(
            u for u in self.control.records("connectwise", "unitsOfMeasure") if u["name"] == "Each"))
        po = psa.create_purchase_order({
            "status": {"id": status["id"]}, "terms": {"id": terms["id"]}, "vendorCompany": {"id": vendor["id"]},
            "dropShipCustomerFlag": True, "customerName": ship["name"], "customerStreetLine1": ship["address1"],
            "customerCity": ship["city"], "customerState": ship["state"], "customerZip": ship["zip_code"]})
        any_item = next(iter(self._products.values())) if self._products else None
        for number, (sku, quantity, cost) in enumerate(lines, start=1):
            item = self._products.get(sku) or any_item
            assert item is not None, "call skus() first"
            psa.add_po_line_item(int(po["id"]), {
                "lineNumber": number, "product": {"id": item["id"]}, "description": f"TD SYNNEX {sku}",
                "quantity": quantity, "unitCost": cost, "unitOfMeasure": {"id": each["id"]}, "vendorSku": sku})
        return str(po["poNumber"])

    # ---- reading POs -------------------------------------------------------------------------------
    def psa_id(self, po_number: str) -> int:
        if self.system == "autotask":
            return int(po_number.removeprefix(PREFIX[self.integration]))
        return int(next(p["id"] for p in self.control.records("connectwise", "purchaseOrders")
                        if p["poNumber"] == po_number))

    def order(self, po_number: str) -> dict[str, Any]:
        """The PSA PO with canonical names: status (label), order_number, invoice_number, note (memo / notes)."""
        if self.system == "autotask":
            record = self.control.record("autotask", "PurchaseOrders", self.psa_id(po_number))
            labels = {v: k for k, v in self.psa.picklist("PurchaseOrders", "status").items()}
            return {"status": labels.get(record["status"]), "order_number": record.get("externalPONumber"),
                    "note": record.get("generalMemo") or "", "ship_date": record.get("shippingDate"),
                    "invoice_number": record.get("vendorInvoiceNumber"), "raw": record}
        record = self.control.record("connectwise", "purchaseOrders", self.psa_id(po_number))
        return {"status": (record.get("status") or {}).get("name"), "order_number": record.get("vendorOrderNumber"),
                "note": record.get("internalNotes") or "", "ship_date": record.get("shipmentDate"),
                "tracking": record.get("trackingNumber"), "invoice_number": record.get("vendorInvoiceNumber"),
                "invoice_date": record.get("vendorInvoiceDate"), "raw": record}

    def orders(self, po_numbers: list[str]) -> dict[str, dict[str, str | None]]:
        """Status (label) and order_number of many POs, from one read of the PSA's PO table."""
        if self.system == "autotask":
            labels = {v: k for k, v in self.psa.picklist("PurchaseOrders", "status").items()}
            by_id = {int(r["id"]): r for r in self.control.records("autotask", "PurchaseOrders")}
            records = {n: by_id[int(n.removeprefix(PREFIX[self.integration]))] for n in po_numbers}
            return {n: {"status": labels.get(r["status"]), "order_number": r.get("externalPONumber")}
                    for n, r in records.items()}
        by_number = {str(r["poNumber"]): r for r in self.control.records("connectwise", "purchaseOrders")}
        return {n: {"status": (by_number[n].get("status") or {}).get("name"),
                    "order_number": by_number[n].get("vendorOrderNumber")} for n in po_numbers}

    def lines(self, po_number: str) -> list[dict[str, Any]]:
        """The PO's lines in order, each with ``note`` (its memo / internal notes) and its raw record."""
        po_id = self.psa_id(po_number)
        if self.system == "autotask":
            rows = sorted((i for i in self.control.records("autotask", "PurchaseOrderItems") if i["orderID"] == po_id),
                          key=lambda i: int(i["id"]))
            return [{"note": r.get("memo") or "", "eta": r.get("estimatedArrivalDate"), "raw": r} for r in rows]
        rows = sorted((i for i in self.control.records("connectwise", "purchaseOrderLineItems")
                       if i.get("purchaseOrderId") == po_id), key=lambda i: int(i.get("lineNumber") or 0))
        return [{"note": r.get("internalNotes") or "", "eta": r.get("expectedArrivalDate"),
                 "tracking": r.get("trackingNumber"), "backordered": r.get("backorderedFlag"), "raw": r}
                for r in rows]

    def set_status(self, po_number: str, label: str) -> None:
        """A person changes the PO's status in the PSA."""
        po_id = self.psa_id(po_number)
        if self.system == "autotask":
            self.control.edit_record("autotask", "PurchaseOrders", po_id,
                                     {"status": self.psa.picklist("PurchaseOrders", "status")[label]})
        else:
            status = next(s for s in self.psa.purchase_order_statuses() if s["name"] == label)
            self.control.edit_record("connectwise", "purchaseOrders", po_id,
                                     {"status": {"id": status["id"], "name": status["name"]}})

    def clear_order_number(self, po_number: str) -> None:
        field_name = "externalPONumber" if self.system == "autotask" else "vendorOrderNumber"
        table = "PurchaseOrders" if self.system == "autotask" else "purchaseOrders"
        self.control.edit_record(self.system, table, self.psa_id(po_number), {field_name: None})

    def move(self, po_number: str, action: str, **body: Any) -> dict[str, Any]:
        """TD SYNNEX moves the order (accept, ship, backorder, cancel, invoice)."""
        return self.control.control("tdsynnex", f"orders/{po_number}/{action}", json=body)  # type: ignore[no-any-return]
