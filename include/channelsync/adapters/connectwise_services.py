"""Canonical services ↔ ConnectWise procurement catalog items of a recurring, non-inventory kind
(docs/vendors/connectwise.md §B.7; a catalog item is what an agreement addition bills).

Canonical → ConnectWise: name → ``identifier`` (75, unique in the catalog: the natural key, what an unanswered
create is looked up by), description → ``description`` (60, the short name shown everywhere), invoice_description
→ ``customerDescription`` (6000, what customers read), unit_cost → ``cost`` and ``recurringCost``, unit_price →
``price`` and ``recurringRevenue``, period → ``unitOfMeasure`` ("Month" / "Year", when the tenant has them),
vendor → ``vendor`` (a company reference by id), active → not ``inactiveFlag`` (read, never written).

New items: ``productClass`` NonInventory, ``recurringFlag`` true, the configured product type (``billing_code``:
ConnectWise has no billing codes on catalog items, the product type is what groups them for reporting and GL
mapping) and procurement subcategory (required by ConnectWise; its parent category too).

ASSUMPTION: the billing period is carried by the unit of measure. A catalog item's ``recurringBillCycle``
references the tenant's billing cycles, which the emulator does not model; the agreement's own billing cycle
decides what an addition bills, so the item's period is informative.

Every catalog item is read (identifiers are unique across the whole catalog, so hardware items made by
catalog_sync or by hand can clash with a ``PC_`` name as well).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pandas as pd

from channelsync.adapters.psa_services import (
    ServiceConfigError,
    ServiceSettings,
    name_taken_message,
    vendor_id,
    vendor_label,
)
from channelsync.canonical import conform
from channelsync.canonical.billing import PSA_SERVICE
from channelsync.clients.connectwise.errors import CW_DUPLICATE
from channelsync.errors import ChannelsyncError, FatalApiError, OutcomeUnknownError, QuotaExhausted, define

if TYPE_CHECKING:
    from channelsync.canonical.operation import Operation
    from channelsync.clients.connectwise import ConnectWiseClient

SYSTEM = "connectwise"
READ_FIELDS = ("id,identifier,description,customerDescription,cost,price,inactiveFlag,unitOfMeasure/name,"
               "vendor/id")
UNITS = {"Monthly": ("month", "monthly"), "Yearly": ("year", "yearly", "annual")}
PRODUCT_CLASS = "NonInventory"
CW_SERVICE_LOOKUP_FAILED = define("CW_SERVICE_LOOKUP_FAILED", SYSTEM,
                                  "Looking up a catalog item whose create may have been applied failed; still unknown")


class ConnectWiseServices:
    psa_system = SYSTEM
    entity_type = "service"
    records_xref = True  # a service is found again through its source ↔ PSA pair

    def __init__(self, client: ConnectWiseClient, settings: ServiceSettings) -> None:
        self.client = client
        self.settings = settings
        self._lock = threading.Lock()
        self._resolved: dict[str, Any] | None = None
        self._units: dict[str, int] | None = None

    # ---- configuration --------------------------------------------------------------------------------
    def check_settings(self) -> None:
        self._settings()

    def _settings(self) -> dict[str, Any]:
        """The product type, subcategory (with its category) and vendor the settings name, resolved once."""
        with self._lock:
            if self._resolved is None:
                resolved: dict[str, Any] = {
                    "type": _pick(self.client.types(), self.settings.billing_code, "billing_code",
                                  "a ConnectWise product type (procurement/types) for the catalog items"),
                    "subcategory": _pick(self.client.subcategories(), self.settings.subcategory, "subcategory",
                                         "a ConnectWise procurement subcategory (required on catalog items)"),
                }
                if self.settings.vendor_company is not None:
                    self._check_vendor(self.settings.vendor_company)
                self._resolved = resolved
            return self._resolved

    def _check_vendor(self, company_id: int) -> None:
        from channelsync.clients.connectwise import conditions as c
        from channelsync.clients.connectwise.domain import COMPANIES

        if not list(self.client.iter(COMPANIES, conditions=c.eq("id", int(company_id)), fields="id")):
            raise ServiceConfigError(f"service_catalog_sync: vendor_company {company_id} is not a ConnectWise company "
                                     "id; set it to the vendor company's id, or remove it")

    def _unit_ids(self) -> dict[str, int]:
        """Period → unit of measure id, for the tenant's "Month" / "Year" units (missing ones are left out)."""
        with self._lock:
            if self._units is None:
                by_name = {str(u.get("name", "")).strip().lower(): int(u["id"])
                           for u in self.client.iter("procurement/unitOfMeasures", fields="id,name")
                           if not u.get("inactiveFlag")}
                self._units = {period: next(by_name[n] for n in names if n in by_name)
                               for period, names in UNITS.items() if any(n in by_name for n in names)}
            return self._units

    # ---- reading --------------------------------------------------------------------------------------
    def read_services(self) -> pd.DataFrame:
        periods = {name: period for period, names in UNITS.items() for name in names}
        rows = [
            {
                "psa_id": str(item["id"]),
                "name": item.get("identifier"),
                "description": item.get("description"),
                "invoice_description": item.get("customerDescription"),
                "unit_cost": item.get("cost"),
                "unit_price": item.get("price"),
                "period": periods.get(str((item.get("unitOfMeasure") or {}).get("name", "")).strip().lower()),
                "active": not item.get("inactiveFlag", False),
                "vendor": vendor_label((item.get("vendor") or {}).get("id")),
            }
            for item in self.client.iter_catalog_items(fields=READ_FIELDS)
        ]
        return conform(pd.DataFrame(rows, columns=list(PSA_SERVICE)), PSA_SERVICE, name="ConnectWise catalog items")

    # ---- writing --------------------------------------------------------------------------------------
    def execute(self, operation: Operation) -> str:
        if operation.op == "create":
            return self._create(operation)
        if operation.op != "update" or operation.target_id is None:
            raise ValueError(f"{operation.op} is not a service operation")
        changes: dict[str, Any] = {}
        if "unit_cost" in operation.changed_fields:
            changes.update(cost=operation.fields["unit_cost"], recurringCost=operation.fields["unit_cost"])
        if "unit_price" in operation.changed_fields:
            changes.update(price=operation.fields["unit_price"], recurringRevenue=operation.fields["unit_price"])
        if changes:
            self.client.patch_catalog_item(int(operation.target_id), changes)
        return operation.target_id

    def _create(self, operation: Operation) -> str:
        fields = operation.fields
        resolved = self._settings()
        subcategory = resolved["subcategory"]
        body: dict[str, Any] = {
            "identifier": fields["name"], "description": fields.get("description") or fields["name"],
            "customerDescription": fields.get("invoice_description") or fields.get("description") or fields["name"],
            "cost": fields.get("unit_cost"), "price": fields.get("unit_price"),
            "recurringCost": fields.get("unit_cost"), "recurringRevenue": fields.get("unit_price"),
            "recurringFlag": True, "productClass": PRODUCT_CLASS, "type": {"id": int(resolved["type"]["id"])},
            "subcategory": {"id": int(subcategory["id"])}, "inactiveFlag": False,
        }
        if subcategory.get("category"):
            body["category"] = {"id": int(subcategory["category"]["id"])}
        unit = self._unit_ids().get(str(fields.get("period")))
        if unit is not None:
            body["unitOfMeasure"] = {"id": unit}
        vendor = vendor_id(fields.get("vendor"))
        if vendor is not None:
            body["vendor"] = {"id": vendor}
        try:
            return str(self.client.create_catalog_item(body)["id"])
        except FatalApiError as exc:
            if exc.code != CW_DUPLICATE:
                raise
            clash = fields.get("clash_id") or self._same_name(str(fields["name"]))
            raise FatalApiError(name_taken_message("ConnectWise", str(fields["name"]), clash, exc.vendor_message),
                                code=CW_DUPLICATE, system=SYSTEM, status=exc.status,
                                vendor_message=exc.vendor_message) from None

    def _same_name(self, name: str) -> str | None:
        try:
            found = self.client.find_catalog_items([name], fields="id")
        except ChannelsyncError:
            return None  # only for the message: the create failed either way
        return str(found[0]["id"]) if found else None

    def resolve_unknown(self, operation: Operation) -> str | None:
        if operation.op != "create":
            return None  # updates set absolute values: the loader simply sends them again
        name, clash = str(operation.fields["name"]), operation.fields.get("clash_id")
        try:
            found = self.client.find_catalog_items([name], fields="id,identifier")
        except (QuotaExhausted, OutcomeUnknownError):
            raise
        except ChannelsyncError as exc:
            raise OutcomeUnknownError(
                f"create {operation.source_key}: looking catalog item {name!r} up in ConnectWise failed ({exc}); "
                "whether it was created is still unknown", code=CW_SERVICE_LOOKUP_FAILED, system=SYSTEM) from exc
        made = [row for row in found if str(row["id"]) != str(clash)]
        return str(made[0]["id"]) if made else None


def _pick(records: list[dict[str, Any]], wanted: str | None, option: str, what: str) -> dict[str, Any]:
    """The active record named (or numbered) ``wanted``; else a :class:`ServiceConfigError` listing them."""
    active = [r for r in records if not r.get("inactiveFlag")]
    text = (wanted or "").strip()
    found = [r for r in active if text and (str(r["id"]) == text or str(r.get("name", "")).lower() == text.lower())]
    if not found:
        allowed = ", ".join(repr(str(r.get("name"))) for r in active) or "none"
        said = f"{option} {text!r} is not" if text else f"{option} is not set; it must name"
        raise ServiceConfigError(f"service_catalog_sync: {said} {what}; allowed: {allowed}")
    return found[0]
