"""What subscription_billing needs from a PSA's recurring contracts, whichever PSA it is.

Reading:

- ``read_contracts(company_ids)`` → :class:`PsaContract` (Autotask Contracts; ConnectWise agreements);
- ``read_units(contract_ids)`` → a ``CONTRACT_UNITS`` frame (canonical/billing.py): Autotask
  ContractServiceUnits, one row per billing period split at adjustments (``record_id`` = the unit row);
  ConnectWise agreement additions, one row per addition, ``effectiveDate`` → ``cancelledDate``
  inclusive (``record_id`` = the addition id, what ``update_addition`` takes as ``target_id``);
- ``read_charges(contract_ids)`` → the one-off charges on the contracts as dicts ``{psa_id, contract_id,
  service_id, name, on, quantity, unit_price, unit_cost, billable, marker}`` (``marker``: channelsync's
  :func:`charge_marker` when channelsync posted it, else None: a person's charge, to leave alone; ``on``:
  Autotask's datePurchased, ConnectWise's effective date of the one-time addition, i.e. its period start;
  ConnectWise lists only the one-time additions channelsync marked, people's are in ``read_units``).

Writing: the loader's executor (``execute`` / ``resolve_unknown``, runs/loader.py). ``Operation.op`` and
the names in ``Operation.fields`` (days are ISO ``YYYY-MM-DD``; ``contract_id`` is the Autotask
contract / ConnectWise agreement id; ``service_id`` the Autotask Service / ConnectWise catalog item id):

Autotask (``autotask_contracts.py``):

- ``adjust``: a ContractServiceAdjustment (create-only, a delta) — ``contract_id``, ``service_id``,
  ``effective``, ``unit_change`` (signed whole units), ``unit_price``, ``unit_cost`` (None: unchanged),
  ``units_before``, ``units_after`` (the service's units at ``effective`` before and after: a lost
  answer is settled by reading ContractServiceUnits there, never by posting again);
- ``charge``: a ContractCharge — ``contract_id``, ``name``, ``on`` (datePurchased), ``quantity``,
  ``unit_price``, ``unit_cost``, optional ``description``, ``billable`` (default True),
  ``billing_code_id``, ``product_id``, ``charge_type`` (picklist label; default Operational). Its
  ``notes`` carry :func:`charge_marker` of the operation's key, found again by ``resolve_unknown``.

ConnectWise (``connectwise_contracts.py``):

- ``add``: an agreement addition — ``contract_id``, ``service_id``, ``start`` (effectiveDate), ``end``
  (cancelledDate, None: open-ended), ``quantity``, ``unit_price``, ``unit_cost``, optional
  ``bill_customer`` (Billable), ``description`` (invoiceDescription); found again by product and
  effective date;
- ``update_addition``: PATCH of the addition ``target_id`` — ``contract_id`` plus any of ``quantity``,
  ``unit_price``, ``unit_cost``, ``end`` (None clears the cancelled date): absolute values;
- ``charge``: a one-time addition — ``contract_id``, ``service_id``, ``name`` (invoice text), ``on``,
  ``quantity``, ``unit_price``, ``unit_cost`` (negative for a credit), optional ``billable``,
  ``period_start`` / ``period_end`` (default: the calendar month of ``on``). The invoice description
  ends with ``(ref <marker>)``.

A PSA refusing an effective date outside the contract's dates fails the item with
``CONTRACT_DATE_OUTSIDE`` (the adapter reads the contract's dates after the refusal to tell that from
other refusals, whatever the PSA's wording).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import pandas as pd

from channelsync.canonical import conform
from channelsync.canonical.billing import CONTRACT_UNITS
from channelsync.canonical.dates import calendar_day
from channelsync.errors import ChannelsyncError, FatalApiError, define

CONTRACT_DATE_OUTSIDE = define(
    "CONTRACT_DATE_OUTSIDE", "channelsync",
    "The PSA refused a change effective outside the contract's (agreement's) start and end dates; extend or "
    "renew the contract, or map the customer to a current one, then rerun the customer")
CONTRACT_UNITS_CHANGED = define(
    "CONTRACT_UNITS_CHANGED", "channelsync",
    "After a lost answer the contract's units at the effective date are neither the planned before nor after "
    "value: someone changed the contract meanwhile; nothing was sent again, rerun the customer to re-plan")
CONTRACT_OPERATION_UNSUPPORTED = define(
    "CONTRACT_OPERATION_UNSUPPORTED", "channelsync",
    "The planned contract operation is not one this PSA's contract adapter performs, or its fields are incomplete")
MARKER = re.compile(r"\bcs-[0-9a-f]{16}\b")


@dataclass(frozen=True)
class PsaContract:
    psa_id: str
    company_id: str
    name: str
    start: date
    end: date | None  # None: open-ended (ConnectWise noEndingDateFlag)
    active: bool
    recurring: bool  # Autotask: contractType 7 (Recurring Service); ConnectWise: any agreement not one-time
    prorate: bool | None  # ConnectWise prorateFlag; None: not a contract setting (Autotask)
    type_name: str | None = None  # Autotask contractType label; ConnectWise agreement type name


class PsaContractAdapter(Protocol):
    psa_system: str
    entity_type: str
    records_xref: bool  # see runs/loader.OperationExecutor

    def read_contracts(self, company_ids: Sequence[str] | None = None) -> list[PsaContract]: ...

    def read_units(self, contract_ids: Sequence[str]) -> pd.DataFrame: ...

    def read_charges(self, contract_ids: Sequence[str]) -> list[dict[str, Any]]: ...

    def execute(self, operation: Any) -> str: ...

    def resolve_unknown(self, operation: Any) -> str | None: ...


def contract_adapter(psa_system: str, client: Any) -> PsaContractAdapter:
    if psa_system == "autotask":
        from channelsync.adapters.autotask_contracts import AutotaskContracts

        return AutotaskContracts(client)
    if psa_system == "connectwise":
        from channelsync.adapters.connectwise_contracts import ConnectWiseContracts

        return ConnectWiseContracts(client)
    raise ValueError(f"no contract adapter for PSA {psa_system!r}")


def charge_marker(key: str) -> str:
    """The short, stable tag of a charge channelsync posts (``cs-`` + 16 hex of the idempotency key)."""
    return "cs-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def marker_in(text: Any) -> str | None:
    found = MARKER.search(str(text or ""))
    return found.group(0) if found else None


def missing(value: Any) -> bool:
    """None, NaN, pandas' NA / NaT or an empty string (what a staged frame holds for "no value")."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or other container: not a missing scalar
        return False


def day(value: Any) -> date | None:
    """A PSA date-time (``2025-01-01T00:00:00Z``), ISO day, date or timestamp as a date; None when missing."""
    return None if missing(value) else calendar_day(value)


def number(value: Any) -> float | None:
    """An optional amount or quantity; None when missing (never NaN on the wire)."""
    return None if missing(value) else float(value)


def require_day(value: Any, name: str) -> date:
    found = day(value)
    if found is None:
        raise unsupported(f"the operation has no {name}")
    return found


def stamp(value: date) -> str:
    return f"{value.isoformat()}T00:00:00Z"


def units_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """``CONTRACT_UNITS`` from rows with its column names (dates as ISO days, ``end`` None when open)."""
    frame = pd.DataFrame(list(rows), columns=list(CONTRACT_UNITS))
    return conform(frame, CONTRACT_UNITS, name="CONTRACT_UNITS")


def same_money(a: Any, b: Any, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= tolerance


def unsupported(message: str) -> ChannelsyncError:
    return ChannelsyncError(message, code=CONTRACT_OPERATION_UNSUPPORTED)


def date_outside(error: FatalApiError, effective: date, start: date | None, end: date | None,
                 what: str) -> FatalApiError | None:
    """The refusal as ``CONTRACT_DATE_OUTSIDE`` when ``effective`` lies outside ``start`` … ``end``."""
    if not ((start is not None and effective < start) or (end is not None and effective > end)):
        return None
    span = f"{start.isoformat() if start else '…'} – {end.isoformat() if end else 'open-ended'}"
    return FatalApiError(
        f"{what} effective {effective.isoformat()} is outside the contract's dates ({span}); the PSA said: "
        f"{error.vendor_message or error.message}",
        code=CONTRACT_DATE_OUTSIDE, system=error.system, status=error.status, vendor_message=error.vendor_message)
