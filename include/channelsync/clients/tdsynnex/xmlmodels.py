"""Plain data the XML client returns and takes (no XML types leak out of the client)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class WarehouseStock:
    number: str
    city: str
    quantity: int | None  # None: the answer's quantity could not be read (PnaResult.parse_error says why)
    on_order_quantity: int | None = None
    estimated_arrival: str | None = None  # YYYYMMDD as sent


@dataclass(frozen=True)
class PnaResult:
    line_number: str
    requested: str  # the SKU or part number asked for
    synnex_sku: str
    mfg_pn: str
    status: str  # Active | Discontinued | Not found | Not authorized
    description: str = ""
    price: Decimal | None = None
    total_quantity: int | None = 0  # None: could not be read
    warehouses: tuple[WarehouseStock, ...] = ()
    # Why a number of the line could not be read (it is then missing, never guessed), with the line number.
    parse_error: str | None = None

    @property
    def found(self) -> bool:
        return self.status not in ("Not found",)


@dataclass(frozen=True)
class ShipTo:
    name: str
    address1: str
    city: str
    state: str
    zip_code: str
    country: str = "US"
    address2: str = ""
    contact_name: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class PoLine:
    line_number: int
    sku: str
    quantity: int
    unit_price: Decimal
    product_name: str = ""


@dataclass(frozen=True)
class PurchaseOrder:
    po_number: str
    ship_to: ShipTo
    lines: tuple[PoLine, ...]
    ship_method: str = "FG"
    drop_ship: bool = True
    backorder_allowed: bool = True
    end_user_po: str = ""


@dataclass(frozen=True)
class PoLineResult:
    line_number: str
    sku: str
    quantity: int
    code: str
    order_number: str
    order_type: str  # SO | BO | 99 (manual handling)
    reference: str = ""
    reason: str = ""


@dataclass(frozen=True)
class PoSubmission:
    po_number: str
    code: str  # accepted | rejected
    lines: tuple[PoLineResult, ...] = ()
    reason: str = ""
    already_submitted: bool = False  # found by PO status before (or instead of) sending

    @property
    def needs_manual_review(self) -> bool:
        return any(line.order_type == "99" for line in self.lines)


@dataclass(frozen=True)
class Package:
    tracking_number: str
    weight: str
    ship_item_quantity: int
    serials: tuple[str, ...] = ()


@dataclass(frozen=True)
class PoStatusItem:
    line_number: str
    code: str
    order_number: str
    order_type: str
    order_quantity: int
    unit_price: Decimal | None
    sku: str
    mfg_pn: str
    product_name: str
    ship_quantity: int
    ship_from_warehouse: str
    ship_method: str
    ship_method_description: str
    ship_datetime: str = ""
    eta_date: str = ""
    packages: tuple[Package, ...] = ()


@dataclass(frozen=True)
class PoStatus:
    po_number: str
    code: str  # accepted | shipped | deleted | rejected | notFound
    reason: str = ""
    po_datetime: str = ""
    items: tuple[PoStatusItem, ...] = field(default=())

    @property
    def exists(self) -> bool:
        return self.code != "notFound"


@dataclass(frozen=True)
class InvoiceLine:
    line_number: str  # the PO line it bills (the customer's line number)
    ship_quantity: int
    unit_price: Decimal | None
    sku: str
    mfg_pn: str = ""
    description: str = ""
    serials: tuple[str, ...] = ()


@dataclass(frozen=True)
class Invoice:
    """One invoice of the invoice query web service (a sales order's shipment, billed)."""

    invoice_number: str
    invoice_date: str  # as sent (YYYY-MM-DD)
    order_number: str = ""  # the SYNNEX sales order it bills
    order_type: str = ""
    po_number: str = ""  # the customer PO number
    ship_date: str = ""
    ship_method: str = ""
    payment_terms: str = ""
    tracking_numbers: tuple[str, ...] = ()
    lines: tuple[InvoiceLine, ...] = ()
    total: Decimal | None = None
    freight: Decimal | None = None
    sales_tax: Decimal | None = None
