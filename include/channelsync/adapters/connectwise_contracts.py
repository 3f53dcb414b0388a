"""Recurring contracts ↔ ConnectWise agreements and their additions.

Operations and their fields: ``psa_contracts.py``. How ConnectWise bills them (docs/vendors/connectwise.md
§B.6, §B.7): an agreement (``finance/agreements``) invoices its additions (``{id}/additions``) every
billing cycle from ``effectiveDate`` through ``cancelledDate`` (the last day billed; none: open-ended),
prorated by those dates when the agreement prorates (``prorateFlag``). An addition is an absolute
record, so quantity, price, cost and end are corrected with a PATCH (``update_addition``).

One-off lines (credits, one-time charges) are **one-time additions**: effective on the first and
cancelled on the last day of one billing period, so the agreement invoices them once, in full. That is
what ConnectWise users do for one-time fees (a third-party ConnectWise reference: "charge a one-time
setup fee by setting the Effective Date and Cancelled Date within the same billing period"); a credit
is the same with a negative unit price. Agreement *adjustments* (``{id}/adjustments``: amount,
description, effectiveDate) are not used: they change the agreement's application allowance (the
prepaid hours or amount), not what is invoiced. ASSUMPTIONS: the billing period of a charge is the
calendar month of its date (monthly agreements billed from the 1st), clamped to the agreement's dates;
ConnectWise accepts a negative unit price on an addition.

Exactly once: a new addition is found again by product and effective date; a one-time addition carries
``(ref <marker>)`` at the end of its invoice description (printed on the invoice: additions have no
internal text field short of tenant-defined custom fields), found again by that marker and kept out of
``read_units``.
"""

from __future__ import annotations

import calendar
import threading
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from channelsync.adapters.psa_contracts import (
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
from channelsync.clients.connectwise import conditions as c
from channelsync.clients.connectwise.domain import AGREEMENTS
from channelsync.errors import FatalApiError, QuotaExhausted

if TYPE_CHECKING:
    from channelsync.clients.connectwise import ConnectWiseClient
    from channelsync.runs.loader import Operation

SYSTEM = "connectwise"
MONEY_TOLERANCE = 0.005  # ConnectWise money: 2 decimals
INVOICE_DESCRIPTION_LIMIT = 6000
COMPANY_BATCH = 100
# update_addition's canonical names → the addition's fields
ADDITION_FIELDS = {"quantity": "quantity", "unit_price": "unitPrice", "unit_cost": "unitCost", "end": "cancelledDate"}


class ConnectWiseContracts:
    psa_system = SYSTEM
    entity_type = "recurring_contract"
    records_xref = False  # postings are found again through the ledger, not a source ↔ PSA pair

    def __init__(self, client: ConnectWiseClient) -> None:
        self.client = client
        self._agreements: dict[int, dict[str, Any]] = {}  # read this run: dates for clamping and refusals
        self._lock = threading.Lock()

    # ---- reading ------------------------------------------------------------------------------------
    def read_contracts(self, company_ids: Sequence[str] | None = None) -> list[PsaContract]:
        if company_ids is None:
            batches: list[str | None] = [None]
        else:
            ids = sorted({int(i) for i in company_ids})
            batches = [c.in_("company/id", ids[n:n + COMPANY_BATCH]) for n in range(0, len(ids), COMPANY_BATCH)]
        found: list[PsaContract] = []
        for conditions in batches:
            for agreement in self.client.iter_agreements(conditions=conditions):
                self._remember(agreement)
                found.append(_contract(agreement))
        return sorted(found, key=lambda a: int(a.psa_id))

    def read_units(self, contract_ids: Sequence[str]) -> pd.DataFrame:
        rows = [
            {"contract_id": str(aid), "service_id": str((a.get("product") or {}).get("id")), "record_id": str(a["id"]),
             "start": _iso(a.get("effectiveDate")), "end": _iso(a.get("cancelledDate")),
             "units": float(a.get("quantity") or 0), "unit_price": _number(a.get("unitPrice")),
             "unit_cost": _number(a.get("unitCost"))}
            for aid, a in self._additions(contract_ids) if marker_in(a.get("invoiceDescription")) is None
        ]
        return units_frame(rows)

    def read_charges(self, contract_ids: Sequence[str]) -> list[dict[str, Any]]:
        charges = []
        for aid, a in self._additions(contract_ids):
            marker = marker_in(a.get("invoiceDescription"))
            if marker is None:
                continue
            charges.append({
                "psa_id": str(a["id"]), "contract_id": str(aid), "service_id": str((a.get("product") or {}).get("id")),
                "name": str(a.get("invoiceDescription") or ""), "on": _iso(a.get("effectiveDate")),
                "quantity": float(a.get("quantity") or 0), "unit_price": _number(a.get("unitPrice")),
                "unit_cost": _number(a.get("unitCost")), "billable": a.get("billCustomer", "Billable") == "Billable",
                "marker": marker,
            })
        return charges

    def _additions(self, contract_ids: Sequence[str]) -> list[tuple[int, dict[str, Any]]]:
        """Every addition of the agreements (one paged list per agreement: additions are its child collection)."""
        return [(aid, a) for aid in sorted({int(i) for i in contract_ids}) for a in self.client.iter_additions(aid)]

    # ---- writing (the loader's executor) ------------------------------------------------------------
    def execute(self, operation: Operation) -> str:
        if operation.op == "add":
            return self._add(operation.fields)
        if operation.op == "update_addition":
            return self._update(operation)
        if operation.op == "charge":
            return self._charge(operation)
        raise unsupported(f"ConnectWise agreements have no operation {operation.op!r} (add, update_addition, charge)")

    def resolve_unknown(self, operation: Operation) -> str | None:
        fields = operation.fields
        if operation.op == "add":
            start = require_day(fields.get("start"), "start")
            product = int(fields["service_id"])
            for addition in self.client.iter_additions(int(fields["contract_id"]),
                                                       conditions=c.eq("product/id", product)):
                if day(addition.get("effectiveDate")) == start and \
                        abs(float(addition.get("quantity") or 0) - (number(fields.get("quantity")) or 0.0)) < 1e-9:
                    return str(addition["id"])
            return None
        if operation.op == "update_addition":
            path = f"{AGREEMENTS}/{int(fields['contract_id'])}/additions"
            current = self.client.get(path, int(str(operation.target_id)))
            wanted = self._changes(fields)
            done = all(_same(current.get(field), value) for field, value in wanted.items())
            return str(operation.target_id) if done else None
        if operation.op == "charge":
            marker = charge_marker(operation.key)
            found = self.read_charges([str(fields["contract_id"])])
            return next((ch["psa_id"] for ch in found if ch["marker"] == marker), None)
        return None

    def _add(self, fields: dict[str, Any]) -> str:
        agreement_id = int(fields["contract_id"])
        start = require_day(fields.get("start"), "start")
        body: dict[str, Any] = {
            "product": {"id": int(fields["service_id"])}, "quantity": number(fields.get("quantity")) or 0.0,
            "effectiveDate": stamp(start), "billCustomer": fields.get("bill_customer") or "Billable",
        }
        end = day(fields.get("end"))
        if end is not None:
            body["cancelledDate"] = stamp(end)
        for name, field in (("unit_price", "unitPrice"), ("unit_cost", "unitCost")):
            amount = number(fields.get(name))
            if amount is not None:
                body[field] = round(amount, 2)
        if not missing(fields.get("description")):
            body["invoiceDescription"] = str(fields["description"])[:INVOICE_DESCRIPTION_LIMIT]
        return self._create(agreement_id, body, start, "The addition")

    def _update(self, operation: Operation) -> str:
        if operation.target_id is None:
            raise unsupported("update_addition needs the addition's id as target_id")
        changes = self._changes(operation.fields)
        if changes:
            self.client.patch_addition(int(operation.fields["contract_id"]), int(operation.target_id), changes)
        return str(operation.target_id)

    @staticmethod
    def _changes(fields: dict[str, Any]) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name, field in ADDITION_FIELDS.items():
            if name not in fields:
                continue
            if name == "end":
                end = day(fields[name])
                changes[field] = stamp(end) if end else None
                continue
            value = number(fields[name])
            if value is not None:
                changes[field] = round(value, 2) if name != "quantity" else value
        return changes

    def _charge(self, operation: Operation) -> str:
        fields = operation.fields
        agreement_id = int(fields["contract_id"])
        name = str(fields.get("name") or "").strip()
        price = number(fields.get("unit_price"))
        if not name or price is None or missing(fields.get("service_id")):
            raise unsupported("a ConnectWise charge needs a name, a unit price and a product (service_id)")
        on = require_day(fields.get("on"), "charge date")
        first, last = self._period(agreement_id, on, day(fields.get("period_start")), day(fields.get("period_end")))
        suffix = f" (ref {charge_marker(operation.key)})"
        body = {
            "product": {"id": int(fields["service_id"])}, "quantity": number(fields.get("quantity")) or 1.0,
            "unitPrice": round(price, 2), "unitCost": round(number(fields.get("unit_cost")) or 0.0, 2),
            "effectiveDate": stamp(first), "cancelledDate": stamp(last),
            "billCustomer": "Billable" if fields.get("billable", True) else "DoNotBill",
            "invoiceDescription": name[:INVOICE_DESCRIPTION_LIMIT - len(suffix)] + suffix,
        }
        return self._create(agreement_id, body, first, "The one-time addition")

    def _period(self, agreement_id: int, on: date, first: date | None, last: date | None) -> tuple[date, date]:
        """The billing period a one-time addition spans: the given one, else ``on``'s calendar month inside
        the agreement's dates (an addition may not start before its agreement)."""
        if first is not None and last is not None:
            return first, last
        month_first = on.replace(day=1)
        month_last = on.replace(day=calendar.monthrange(on.year, on.month)[1])
        start, end = self._dates(agreement_id)
        return first or max(month_first, start or month_first), last or min(month_last, end or month_last)

    def _create(self, agreement_id: int, body: dict[str, Any], effective: date, what: str) -> str:
        try:
            return str(self.client.create_addition(agreement_id, body)["id"])
        except QuotaExhausted:
            raise
        except FatalApiError as exc:
            raise self._dated_refusal(exc, agreement_id, effective, what) from exc

    def _dated_refusal(self, error: FatalApiError, agreement_id: int, effective: date, what: str) -> FatalApiError:
        try:
            start, end = self._dates(agreement_id)
        except Exception:  # the refusal stands on its own; reading the dates was a courtesy
            return error
        return date_outside(error, effective, start, end, what) or error

    def _dates(self, agreement_id: int) -> tuple[date | None, date | None]:
        with self._lock:
            agreement = self._agreements.get(agreement_id)
        if agreement is None:
            agreement = self.client.get(AGREEMENTS, agreement_id)
            self._remember(agreement)
        contract = _contract(agreement)
        return contract.start, contract.end

    def _remember(self, agreement: dict[str, Any]) -> None:
        with self._lock:
            self._agreements[int(agreement["id"])] = agreement


def _contract(agreement: dict[str, Any]) -> PsaContract:
    status = agreement.get("agreementStatus")
    active = status == "Active" if status else not agreement.get("cancelledFlag")
    end = None if agreement.get("noEndingDateFlag") else day(agreement.get("endDate"))
    return PsaContract(
        psa_id=str(agreement["id"]), company_id=str((agreement.get("company") or {}).get("id")),
        name=str(agreement.get("name") or ""), start=day(agreement.get("startDate")) or date.min, end=end,
        active=active, recurring=not agreement.get("oneTimeFlag"),
        prorate=bool(agreement["prorateFlag"]) if agreement.get("prorateFlag") is not None else None,
        type_name=(agreement.get("type") or {}).get("name"),
    )


def _same(current: Any, wanted: Any) -> bool:
    if wanted is None or current is None:
        return wanted is None and current in (None, "")
    if isinstance(wanted, str):
        return day(current) == day(wanted)
    return same_money(current, wanted, MONEY_TOLERANCE)


def _iso(value: Any) -> str | None:
    found = day(value)
    return found.isoformat() if found else None


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None
