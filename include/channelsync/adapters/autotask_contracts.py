"""Recurring contracts ↔ Autotask Contracts, ContractServiceUnits, ContractServiceAdjustments, ContractCharges.

Operations and their fields: ``psa_contracts.py``. How Autotask keeps recurring units
(docs/vendors/autotask.md §A.7): a contract of type 7 (Recurring Service) has ContractServices, whose
units live in ContractServiceUnits (query-only: one row per billing period, split at each adjustment's
effective date) and change only through ContractServiceAdjustments (create-only deltas: ``unitChange``
and the adjusted price / cost from ``effectiveDate``; the API creates the ContractService when the
contract has none for the service). One-off lines are ContractCharges, written through
``Contracts/{id}/Charges`` (required: name, datePurchased, chargeType, unitQuantity — SOAP-era metadata).

Exactly once:

- an adjustment cannot be read back (no query on ContractServiceAdjustments), so a lost answer is
  settled from ContractServiceUnits: the row covering the effective date holds ``units_after`` → applied,
  ``units_before`` → not applied, anything else → ``CONTRACT_UNITS_CHANGED`` (nothing is sent; a person
  changed the contract). An adjustment that changes only the price is applied when the row has its
  price and cost. The id answered is the adjustment's, or ``unit:<ContractServiceUnit id>`` when found
  by reading (the adjustment's own id is then unknowable);
- a charge carries :func:`~channelsync.adapters.psa_contracts.charge_marker` of the operation's key in
  its ``notes`` (internal, not printed on invoices): found again by that marker.

ASSUMPTIONS: ``chargeType`` labels (Operational) come from the tenant's picklist, falling back to its
default value; ``status`` is not sent (read-only on SOAP ContractCost). A contract is active when its
status is Active (1) and its end date is not past.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from channelsync.adapters.psa_contracts import (
    CONTRACT_UNITS_CHANGED,
    PsaContract,
    charge_marker,
    date_outside,
    day,
    marker_in,
    missing,
    number,
    require_day,
    same_money,
    stamp,
    units_frame,
    unsupported,
)
from channelsync.errors import ChannelsyncError, FatalApiError, QuotaExhausted

if TYPE_CHECKING:
    from channelsync.clients.autotask import AutotaskClient
    from channelsync.runs.loader import Operation

SYSTEM = "autotask"
RECURRING_SERVICE = 7  # Contracts.contractType (docs/vendors/autotask.md §A.6: documented)
ACTIVE = 1  # Contracts.status
MONEY_TOLERANCE = 0.00005  # Autotask keeps 4 decimals
NAME_LIMIT, DESCRIPTION_LIMIT = 100, 2000
CONTRACT_FIELDS = ["id", "companyID", "contractName", "contractType", "status", "startDate", "endDate"]
UNIT_FIELDS = ["id", "contractID", "serviceID", "startDate", "endDate", "units", "price", "cost"]
CHARGE_FIELDS = ["id", "contractID", "contractServiceID", "productID", "name", "description", "datePurchased",
                 "unitQuantity", "unitPrice", "unitCost", "isBillableToCompany", "notes"]


class AutotaskContracts:
    psa_system = SYSTEM
    entity_type = "recurring_contract"
    records_xref = False  # postings are found again through the ledger, not a source ↔ PSA pair

    def __init__(self, client: AutotaskClient, *, today: date | None = None) -> None:
        self.client = client
        self.today = today  # "now" for the active flag (tests pin it; None: the current UTC day)

    # ---- reading ------------------------------------------------------------------------------------
    def read_contracts(self, company_ids: Sequence[str] | None = None) -> list[PsaContract]:
        from channelsync.clients.autotask import Filter
        from channelsync.clients.autotask.filters import chunked_in

        labels = {value: label for label, value in self.client.picklist("Contracts", "contractType").items()}
        batches = [[Filter.everything()]] if company_ids is None else \
            [[f] for f in chunked_in("companyID", [int(c) for c in company_ids])]
        today = self.today or datetime.now(UTC).date()
        found: list[PsaContract] = []
        for filters in batches:
            for row in self.client.iter_query("Contracts", filters, include_fields=CONTRACT_FIELDS):
                start, end = day(row.get("startDate")), day(row.get("endDate"))
                kind = int(row["contractType"]) if row.get("contractType") is not None else None
                found.append(PsaContract(
                    psa_id=str(row["id"]), company_id=str(row["companyID"]), name=str(row.get("contractName") or ""),
                    start=start or today, end=end,
                    active=row.get("status") == ACTIVE and (end is None or end >= today),
                    recurring=kind == RECURRING_SERVICE, prorate=None,
                    type_name=labels.get(kind) if kind is not None else None,
                ))
        return sorted(found, key=lambda c: int(c.psa_id))

    def read_units(self, contract_ids: Sequence[str]) -> pd.DataFrame:
        rows = [
            {"contract_id": str(u["contractID"]), "service_id": str(u["serviceID"]), "record_id": str(u["id"]),
             "start": _iso(u.get("startDate")), "end": _iso(u.get("endDate")), "units": float(u.get("units") or 0),
             "unit_price": _number(u.get("price")), "unit_cost": _number(u.get("cost"))}
            for u in self._query_by_contract("ContractServiceUnits", contract_ids, UNIT_FIELDS)
        ]
        return units_frame(sorted(rows, key=lambda r: (int(r["contract_id"]), int(r["service_id"]), r["start"])))

    def read_charges(self, contract_ids: Sequence[str]) -> list[dict[str, Any]]:
        return [
            {"psa_id": str(c["id"]), "contract_id": str(c["contractID"]),
             "service_id": str(c["productID"]) if c.get("productID") is not None else None,
             "name": str(c.get("name") or ""), "on": _iso(c.get("datePurchased")),
             "quantity": float(c.get("unitQuantity") or 0), "unit_price": _number(c.get("unitPrice")),
             "unit_cost": _number(c.get("unitCost")), "billable": bool(c.get("isBillableToCompany")),
             "marker": marker_in(c.get("notes"))}
            for c in self._query_by_contract("ContractCharges", contract_ids, CHARGE_FIELDS)
        ]

    def _query_by_contract(self, entity: str, contract_ids: Sequence[str], fields: list[str]) -> list[dict[str, Any]]:
        from channelsync.clients.autotask.filters import chunked_in

        rows: list[dict[str, Any]] = []
        for chunk in chunked_in("contractID", sorted({int(c) for c in contract_ids})):
            rows.extend(self.client.iter_query(entity, chunk, include_fields=fields))
        return rows

    # ---- writing (the loader's executor) ------------------------------------------------------------
    def execute(self, operation: Operation) -> str:
        if operation.op == "adjust":
            return self._adjust(operation.fields)
        if operation.op == "charge":
            return self._charge(operation)
        raise unsupported(f"Autotask contracts have no operation {operation.op!r} (adjust, charge)")

    def resolve_unknown(self, operation: Operation) -> str | None:
        if operation.op == "adjust":
            return self._find_adjustment(operation.fields)
        if operation.op == "charge":
            marker = charge_marker(operation.key)
            contract_id = str(operation.fields["contract_id"])
            return next((c["psa_id"] for c in self.read_charges([contract_id]) if c["marker"] == marker), None)
        return None

    def _adjust(self, fields: dict[str, Any]) -> str:
        effective = require_day(fields.get("effective"), "effective date")
        body: dict[str, Any] = {
            "contractID": int(fields["contract_id"]), "serviceID": int(fields["service_id"]),
            "effectiveDate": stamp(effective), "unitChange": _whole(number(fields.get("unit_change")) or 0),
        }
        for name, field in (("unit_price", "adjustedUnitPrice"), ("unit_cost", "adjustedUnitCost")):
            amount = number(fields.get(name))
            if amount is not None:
                body[field] = round(amount, 4)
        try:
            return str(self.client.create("ContractServiceAdjustments", body))
        except QuotaExhausted:
            raise
        except FatalApiError as exc:
            raise self._dated_refusal(exc, int(fields["contract_id"]), effective, "The adjustment") from exc

    def _charge(self, operation: Operation) -> str:
        fields = operation.fields
        contract_id = int(fields["contract_id"])
        name = str(fields.get("name") or "").strip()
        price = number(fields.get("unit_price"))
        if not name or price is None:
            raise unsupported("a charge needs a name and a unit price")
        body: dict[str, Any] = {
            "name": name[:NAME_LIMIT], "description": str(fields.get("description") or name)[:DESCRIPTION_LIMIT],
            "datePurchased": stamp(require_day(fields.get("on"), "charge date")),
            "unitQuantity": number(fields.get("quantity")) or 1.0, "unitPrice": round(price, 4),
            "unitCost": round(number(fields.get("unit_cost")) or 0.0, 4),
            "isBillableToCompany": bool(fields.get("billable", True)),
            "chargeType": self._charge_type(fields.get("charge_type")),
            "notes": f"Posted by channelsync ({charge_marker(operation.key)})",
        }
        for name_in_fields, field in (("billing_code_id", "billingCodeID"), ("product_id", "productID")):
            if not missing(fields.get(name_in_fields)):
                body[field] = int(fields[name_in_fields])
        return str(self.client.create_child("Contracts", contract_id, "Charges", body))

    def _charge_type(self, label: Any) -> int:
        values = self.client.picklist("ContractCharges", "chargeType")
        wanted = str(label or "Operational").casefold()
        found = next((v for k, v in values.items() if k.casefold() == wanted), None)
        if found is not None:
            return found
        if label:
            raise unsupported(f"charge type {label!r} is not in Autotask's picklist ({', '.join(values)})")
        default = self._picklist_default("ContractCharges", "chargeType")
        if default is None:
            raise unsupported("Autotask's ContractCharges.chargeType picklist is empty")
        return default

    def _picklist_default(self, entity: str, field: str) -> int | None:
        for info in self.client.field_information(entity):
            if str(info.get("name")).lower() == field.lower():
                values = info.get("picklistValues") or []
                chosen = next((v for v in values if v.get("isDefaultValue")), values[0] if values else None)
                return int(chosen["value"]) if chosen else None
        return None

    def _find_adjustment(self, fields: dict[str, Any]) -> str | None:
        from channelsync.clients.autotask import Filter

        effective = require_day(fields.get("effective"), "effective date")
        rows = list(self.client.iter_query("ContractServiceUnits", [
            Filter.eq("contractID", int(fields["contract_id"])), Filter.eq("serviceID", int(fields["service_id"]))],
            include_fields=UNIT_FIELDS))
        covering = next((r for r in rows if (day(r.get("startDate")) or effective) <= effective
                         <= (day(r.get("endDate")) or effective)), None)
        units = float(covering.get("units") or 0) if covering else 0.0
        before, after = number(fields.get("units_before")) or 0.0, number(fields.get("units_after")) or 0.0
        if abs(before - after) < 1e-9:  # a price-only adjustment: applied when the row has the new price
            if covering is None:
                return None
            prices_match = all(same_money(covering.get(field), number(fields.get(name)), MONEY_TOLERANCE)
                               for name, field in (("unit_price", "price"), ("unit_cost", "cost"))
                               if number(fields.get(name)) is not None)
            return f"unit:{covering['id']}" if prices_match else None
        if abs(units - after) < 1e-9:
            return f"unit:{covering['id']}" if covering else None
        if abs(units - before) < 1e-9:
            return None
        raise ChannelsyncError(
            f"contract {fields['contract_id']} service {fields['service_id']} has {units:g} units on "
            f"{effective.isoformat()}, neither the {before:g} planned before nor the {after:g} after the adjustment",
            code=CONTRACT_UNITS_CHANGED)

    def _dated_refusal(self, error: FatalApiError, contract_id: int, effective: date, what: str) -> FatalApiError:
        """``CONTRACT_DATE_OUTSIDE`` when the contract's dates explain the refusal, else the refusal itself."""
        try:
            contract = self.client.get("Contracts", contract_id)
        except Exception:  # the refusal stands on its own; reading the dates was a courtesy
            return error
        if not contract:
            return error
        return date_outside(error, effective, day(contract.get("startDate")), day(contract.get("endDate")),
                            what) or error


def _whole(value: Any) -> int:
    number = float(value)
    if abs(number - round(number)) > 1e-9:
        raise unsupported(f"Autotask adjusts whole units only; {number:g} is not one")
    return round(number)


def _iso(value: Any) -> str | None:
    found = day(value)
    return found.isoformat() if found else None


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None
