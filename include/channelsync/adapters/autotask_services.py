"""Canonical services ↔ Autotask Services (docs/vendors/autotask.md §A.7).

Canonical → Autotask: name → ``name`` (100, unique: the ``IX_service`` index), description → ``description``
(400), invoice_description → ``invoiceDescription`` (1000), unit_cost → ``unitCost``, unit_price →
``unitPrice``, period → ``periodType`` (a picklist: "Monthly" / "Yearly" labels, values read from
``entityInformation/fields``), vendor → ``vendorCompanyID``. New services get the configured billing code
(``billingCodeID``: an active billing code of the recurring-contract use type, the only kind Autotask accepts
on a service) and are active. Updates PATCH ``unitCost`` / ``unitPrice`` only; ``isActive`` is never written,
so a service a person set inactive stays inactive.

A create refused with ``IX_service`` (a service of that name exists that channelsync did not create) fails its
item with a message naming the service to rename (:func:`~channelsync.adapters.psa_services.name_taken_message`).
A create whose answer was lost is looked up by name, never resent blindly; a same-name service known before the
create was sent (the plan's ``clash_id``) is never taken for it.
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
from channelsync.clients.autotask.errors import AUTOTASK_DUPLICATE_SERVICE
from channelsync.errors import ChannelsyncError, FatalApiError, OutcomeUnknownError, QuotaExhausted, define

if TYPE_CHECKING:
    from channelsync.canonical.operation import Operation
    from channelsync.clients.autotask import AutotaskClient

SYSTEM = "autotask"
READ_FIELDS = ["id", "name", "description", "invoiceDescription", "unitCost", "unitPrice", "periodType", "isActive",
               "vendorCompanyID"]
FIELD_MAP = {"name": "name", "description": "description", "invoice_description": "invoiceDescription",
             "unit_cost": "unitCost", "unit_price": "unitPrice"}
PERIOD_LABELS = {"monthly": "Monthly", "yearly": "Yearly", "annual": "Yearly", "annually": "Yearly"}
AUTOTASK_SERVICE_LOOKUP_FAILED = define(
    "AUTOTASK_SERVICE_LOOKUP_FAILED", SYSTEM,
    "Looking up a service whose create may have been applied failed; still unknown",
)


class AutotaskServices:
    psa_system = SYSTEM
    entity_type = "service"
    records_xref = True  # a service is found again through its source ↔ PSA pair

    def __init__(self, client: AutotaskClient, settings: ServiceSettings) -> None:
        self.client = client
        self.settings = settings
        self._lock = threading.Lock()
        self._billing_code_id: int | None = None
        self._periods: dict[str, int] | None = None

    # ---- configuration ------------------------------------------------------------------------------
    def check_settings(self) -> None:
        self.billing_code_id()
        if self.settings.vendor_company is not None:
            self._check_vendor(self.settings.vendor_company)

    def recurring_billing_codes(self) -> list[dict[str, Any]]:
        """Active billing codes of the recurring-contract use type (the use type's value is the tenant's, read
        from the picklist by its label)."""
        from channelsync.clients.autotask import Filter

        use_types = [value for label, value in self.client.picklist("BillingCodes", "useType").items()
                     if "recurring" in label.lower()]
        if not use_types:
            return []
        return list(self.client.iter_query(
            "BillingCodes", Filter.and_(Filter.in_("useType", use_types), Filter.eq("isActive", True)),
            include_fields=["id", "name"]))

    def billing_code_id(self) -> int:
        with self._lock:
            if self._billing_code_id is None:
                codes = self.recurring_billing_codes()
                wanted = (self.settings.billing_code or "").strip()
                found = [c for c in codes if wanted and (str(c["id"]) == wanted or
                                                         str(c.get("name", "")).lower() == wanted.lower())]
                if not found:
                    allowed = ", ".join(f"{c.get('name')!r} (id {c['id']})" for c in codes) or "none: create one"
                    said = f"billing_code {wanted!r} is not" if wanted else "billing_code is not set; it must name"
                    raise ServiceConfigError(
                        f"service_catalog_sync: {said} an active Autotask billing code of the Recurring Contract "
                        f"Service use type (the only kind a service takes); allowed: {allowed}")
                self._billing_code_id = int(found[0]["id"])
            return self._billing_code_id

    def _check_vendor(self, company_id: int) -> None:
        from channelsync.clients.autotask import Filter

        if not list(self.client.iter_query("Companies", Filter.eq("id", int(company_id)), include_fields=["id"])):
            raise ServiceConfigError(f"service_catalog_sync: vendor_company {company_id} is not an Autotask company "
                                     "id (Companies); set it to the vendor company's id, or remove it")

    def _period_values(self) -> dict[str, int]:
        with self._lock:
            if self._periods is None:
                self._periods = {PERIOD_LABELS.get(label.lower(), label): int(value)
                                 for label, value in self.client.picklist("Services", "periodType").items()}
            return self._periods

    # ---- reading --------------------------------------------------------------------------------------
    def read_services(self) -> pd.DataFrame:
        labels = {value: label for label, value in self._period_values().items()}
        rows = [
            {
                "psa_id": str(item["id"]),
                **{canonical: item.get(name) for canonical, name in FIELD_MAP.items()},
                "period": labels.get(int(item["periodType"])) if item.get("periodType") is not None else None,
                "active": item.get("isActive"),
                "vendor": vendor_label(item.get("vendorCompanyID")),
            }
            for item in self.client.iter_query("Services", include_fields=READ_FIELDS)
        ]
        return conform(pd.DataFrame(rows, columns=list(PSA_SERVICE)), PSA_SERVICE, name="Autotask services")

    # ---- writing --------------------------------------------------------------------------------------
    def execute(self, operation: Operation) -> str:
        fields = operation.fields
        if operation.op == "create":
            return self._create(operation)
        if operation.op != "update" or operation.target_id is None:
            raise ValueError(f"{operation.op} is not a service operation")
        changes = {FIELD_MAP[name]: fields[name] for name in operation.changed_fields if name in ("unit_cost",
                                                                                                    "unit_price")}
        if changes:
            self.client.update("Services", {"id": int(operation.target_id), **changes})
        return operation.target_id

    def _create(self, operation: Operation) -> str:
        fields = operation.fields
        body: dict[str, Any] = {FIELD_MAP[name]: fields.get(name) for name in FIELD_MAP}
        body.update(billingCodeID=self.billing_code_id(), periodType=self._period_value(fields.get("period")),
                    isActive=True)
        vendor = vendor_id(fields.get("vendor"))
        if vendor is not None:
            body["vendorCompanyID"] = vendor
        try:
            return str(self.client.create("Services", body))
        except FatalApiError as exc:
            if exc.code != AUTOTASK_DUPLICATE_SERVICE:
                raise
            clash = fields.get("clash_id") or self._same_name(str(fields["name"]))
            raise FatalApiError(name_taken_message("Autotask", str(fields["name"]), clash, exc.vendor_message),
                                code=AUTOTASK_DUPLICATE_SERVICE, system=SYSTEM, status=exc.status,
                                vendor_message=exc.vendor_message) from None

    def _period_value(self, period: Any) -> int:
        values = self._period_values()
        if period not in values:
            raise FatalApiError(f"Autotask Services.periodType has no {period!r} value (has: {', '.join(values)})",
                                code="AUTOTASK_VALIDATION", system=SYSTEM)
        return values[str(period)]

    def _same_name(self, name: str) -> str | None:
        from channelsync.clients.autotask import Filter

        try:
            found = list(self.client.iter_query("Services", Filter.eq("name", name), include_fields=["id"]))
        except ChannelsyncError:
            return None  # only for the message: the create failed either way
        return str(found[0]["id"]) if found else None

    def resolve_unknown(self, operation: Operation) -> str | None:
        """The service a lost create made (same name, not the same-name service that existed before), or None."""
        from channelsync.clients.autotask import Filter

        if operation.op != "create":
            return None  # updates set absolute values: the loader simply sends them again
        name, clash = str(operation.fields["name"]), operation.fields.get("clash_id")
        try:
            found = list(self.client.iter_query("Services", Filter.eq("name", name), include_fields=["id", "name"]))
        except (QuotaExhausted, OutcomeUnknownError):
            raise
        except ChannelsyncError as exc:
            raise OutcomeUnknownError(
                f"create {operation.source_key}: looking service {name!r} up in Autotask failed ({exc}); whether it "
                "was created is still unknown", code=AUTOTASK_SERVICE_LOOKUP_FAILED, system=SYSTEM) from exc
        made = [row for row in found if str(row["id"]) != str(clash)
                and str(row.get("name") or "").lower() == name.lower()]
        return str(made[0]["id"]) if made else None
