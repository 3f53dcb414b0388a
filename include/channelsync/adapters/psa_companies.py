"""PSA companies and their recurring contracts, read for customer mapping (suggestions, and the checks
``channelsync mapping set`` makes before a mapping is saved).

- Autotask: ``Companies`` (id, companyName, companyNumber, webAddress, isActive; Vendor and Partner
  companies left out, by the companyType picklist's labels) and ``Contracts``. Billing posts only to a
  **Recurring Service** contract (contractType 7, docs/vendors/autotask.md §A.6) that is **active on
  the date** it posts for: status 1 (Active) and startDate ≤ date ≤ endDate.
- ConnectWise: ``company/companies`` (vendors and deleted companies left out; ``accountNumber`` as the
  company number) and ``finance/agreements``. An agreement is recurring unless it is one-time
  (``oneTimeFlag``), and active on a date when it is not cancelled, has started and has not ended
  (``noEndingDateFlag`` or endDate ≥ date).

Both read into two PSA-neutral tables, :data:`PSA_COMPANY` and :data:`PSA_CONTRACT`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from channelsync.canonical import conform, empty
from channelsync.errors import ChannelsyncError, define

if TYPE_CHECKING:
    from channelsync.clients.autotask import AutotaskClient
    from channelsync.clients.connectwise import ConnectWiseClient

MAPPING_TARGET_INVALID = define(
    "MAPPING_TARGET_INVALID", "channelsync",
    "The PSA company or contract of a customer mapping does not exist, or is not an active recurring contract",
)

# One row per PSA company a customer can be mapped to.
PSA_COMPANY: dict[str, str] = {
    "psa_company_id": "string",
    "name": "string",
    "domain": "string",  # the web address as the PSA holds it (Autotask webAddress, ConnectWise website)
    "number": "string",  # Autotask companyNumber / ConnectWise accountNumber (often the MSP's customer reference)
    "active": "boolean",
}
# One row per contract (Autotask Contracts, ConnectWise agreements) of the companies read.
PSA_CONTRACT: dict[str, str] = {
    "psa_contract_id": "string",
    "psa_company_id": "string",
    "name": "string",
    "kind": "string",  # Autotask contract type label ("Recurring Service"), ConnectWise agreement type name
    "start": "string",  # ISO date
    "end": "string",  # ISO date; missing when open-ended
    "status": "string",  # Autotask Active / Inactive; ConnectWise agreementStatus
    "recurring": "boolean",  # billing can post to it (Autotask type 7; ConnectWise: not one-time)
    "active": "boolean",  # active on the date it was read for
}

RECURRING_SERVICE = 7  # Autotask Contracts.contractType "Recurring Service" (documented)
AUTOTASK_ACTIVE = 1  # Autotask Contracts.status
_NOT_CUSTOMERS = ("vendor", "partner")  # Autotask company types that are never billed customers


class MappingTargetInvalid(ChannelsyncError):
    code = MAPPING_TARGET_INVALID


class PsaCompanies(Protocol):
    psa_system: str

    def read_companies(self) -> pd.DataFrame:
        """Every company a customer may be mapped to, as :data:`PSA_COMPANY`."""
        ...

    def read_contracts(self, company_ids: Sequence[str] | None = None, *, on: date) -> pd.DataFrame:
        """The contracts of these companies (of all, when None) as :data:`PSA_CONTRACT`, ``active`` on ``on``."""
        ...

    def company(self, company_id: str) -> dict[str, Any] | None:
        """One company as a :data:`PSA_COMPANY` row, or None when the PSA has none with that id."""
        ...

    def contract(self, contract_id: str, *, on: date) -> dict[str, Any] | None:
        """One contract as a :data:`PSA_CONTRACT` row, or None."""
        ...


def companies_adapter(psa_system: str, client: Any) -> PsaCompanies:
    if psa_system == "autotask":
        return AutotaskCompanies(client)
    if psa_system == "connectwise":
        return ConnectWiseCompanies(client)
    raise ValueError(f"no company adapter for {psa_system}")


def eligible_contracts(adapter: PsaCompanies, company_id: str, *, on: date) -> list[dict[str, Any]]:
    """The company's contracts billing can post to on ``on`` (recurring and active), by id."""
    contracts = adapter.read_contracts([company_id], on=on)
    chosen = contracts[contracts["recurring"].fillna(False) & contracts["active"].fillna(False)]
    return _records(chosen.sort_values("psa_contract_id", key=_numeric_first))


def check_target(adapter: PsaCompanies, company_id: str, contract_id: str | None, *, on: date
                 ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The company and contract of a mapping, read from the PSA: the company exists; the contract (when
    given) exists, belongs to it, is recurring and is active on ``on``. Anything else is
    :class:`MappingTargetInvalid` with a one-line reason naming the contracts that would do."""
    psa = _label(adapter.psa_system)
    company = adapter.company(company_id)
    if company is None:
        raise MappingTargetInvalid(f"{psa} has no company {company_id}")
    if contract_id is None:
        return company, None
    contract = adapter.contract(contract_id, on=on)
    noun = "agreement" if adapter.psa_system == "connectwise" else "contract"
    if contract is None:
        raise MappingTargetInvalid(f"{psa} has no {noun} {contract_id}{_alternatives(adapter, company_id, on)}")
    if contract["psa_company_id"] != str(company["psa_company_id"]):
        raise MappingTargetInvalid(
            f"{psa} {noun} {contract_id} belongs to company {contract['psa_company_id']}, not {company_id} "
            f"({company['name']}){_alternatives(adapter, company_id, on)}")
    if not contract["recurring"]:
        wanted = "a Recurring Service contract" if adapter.psa_system == "autotask" else "a recurring agreement"
        raise MappingTargetInvalid(
            f"{psa} {noun} {contract_id} ({contract['name']}) is {contract['kind'] or 'not recurring'}, not "
            f"{wanted}: billing posts only to those{_alternatives(adapter, company_id, on)}")
    if not contract["active"]:
        dates = f"{contract['start'] or '?'} – {contract['end'] or 'open-ended'}"
        raise MappingTargetInvalid(
            f"{psa} {noun} {contract_id} ({contract['name']}) is not active on {on.isoformat()} "
            f"(status {contract['status'] or '?'}, {dates}){_alternatives(adapter, company_id, on)}")
    return company, contract


def _alternatives(adapter: PsaCompanies, company_id: str, on: date) -> str:
    try:
        options = eligible_contracts(adapter, company_id, on=on)
    except Exception:  # the explanation must not hide the original problem
        return ""
    if not options:
        return f"; company {company_id} has no active recurring contract on {on.isoformat()}"
    listed = ", ".join(f"{c['psa_contract_id']} ({c['name']})" for c in options[:5])
    return f"; active recurring contracts of company {company_id}: {listed}"


def _label(psa_system: str) -> str:
    return {"autotask": "Autotask", "connectwise": "ConnectWise"}.get(psa_system, psa_system)


# --- Autotask ---------------------------------------------------------------------------------------------


class AutotaskCompanies:
    psa_system = "autotask"
    COMPANY_FIELDS = ("id", "companyName", "companyNumber", "webAddress", "isActive", "companyType")
    CONTRACT_FIELDS = ("id", "companyID", "contractName", "contractType", "status", "startDate", "endDate")

    def __init__(self, client: AutotaskClient) -> None:
        self.client = client

    def _excluded_types(self) -> set[int]:
        try:
            labels = self.client.picklist("Companies", "companyType")
        except Exception:  # without the picklist every company is a candidate
            return set()
        return {value for label, value in labels.items() if label.strip().lower() in _NOT_CUSTOMERS}

    def _contract_kinds(self) -> dict[int, str]:
        try:
            labels = self.client.picklist("Contracts", "contractType")
        except Exception:
            labels = {}
        kinds = {value: label for label, value in labels.items()}
        kinds.setdefault(RECURRING_SERVICE, "Recurring Service")
        return kinds

    def read_companies(self) -> pd.DataFrame:
        from channelsync.clients.autotask.filters import Filter

        excluded = self._excluded_types()
        rows = [self._company(r) for r in self.client.iter_query(
            "Companies", Filter.eq("isActive", True), include_fields=self.COMPANY_FIELDS)
            if _int(r.get("companyType")) not in excluded]
        return _frame(rows, PSA_COMPANY, "PSA_COMPANY")

    def company(self, company_id: str) -> dict[str, Any] | None:
        from channelsync.clients.autotask.filters import Filter

        number = _int(company_id)
        if number is None:
            return None
        found = list(self.client.iter_query("Companies", Filter.eq("id", number), include_fields=self.COMPANY_FIELDS))
        return self._company(found[0]) if found else None

    def read_contracts(self, company_ids: Sequence[str] | None = None, *, on: date) -> pd.DataFrame:
        from channelsync.clients.autotask.filters import Filter, chunked_in

        kinds = self._contract_kinds()
        if company_ids is None:
            filters: Iterable[Filter] = [Filter.everything()]
        else:
            ids = [n for n in (_int(c) for c in company_ids) if n is not None]
            filters = list(chunked_in("companyID", ids)) if ids else []
        rows = [self._contract(r, kinds, on) for f in filters
                for r in self.client.iter_query("Contracts", f, include_fields=self.CONTRACT_FIELDS)]
        return _frame(rows, PSA_CONTRACT, "PSA_CONTRACT")

    def contract(self, contract_id: str, *, on: date) -> dict[str, Any] | None:
        from channelsync.clients.autotask.filters import Filter

        number = _int(contract_id)
        if number is None:
            return None
        found = list(self.client.iter_query("Contracts", Filter.eq("id", number), include_fields=self.CONTRACT_FIELDS))
        return self._contract(found[0], self._contract_kinds(), on) if found else None

    @staticmethod
    def _company(record: dict[str, Any]) -> dict[str, Any]:
        return {"psa_company_id": _id(record.get("id")), "name": _str(record.get("companyName")),
                "domain": _str(record.get("webAddress")), "number": _str(record.get("companyNumber")),
                "active": bool(record.get("isActive", True))}

    @staticmethod
    def _contract(record: dict[str, Any], kinds: dict[int, str], on: date) -> dict[str, Any]:
        kind = _int(record.get("contractType"))
        status = _int(record.get("status"))
        start, end = _day(record.get("startDate")), _day(record.get("endDate"))
        active = status == AUTOTASK_ACTIVE and _within(on, start, end)
        status_label = None if status is None else {AUTOTASK_ACTIVE: "Active", 0: "Inactive"}.get(status, str(status))
        return {
            "psa_contract_id": _id(record.get("id")), "psa_company_id": _id(record.get("companyID")),
            "name": _str(record.get("contractName")),
            "kind": kinds.get(kind, f"type {kind}") if kind is not None else None,
            "start": start, "end": end,
            "status": status_label,
            "recurring": kind == RECURRING_SERVICE, "active": active,
        }


# --- ConnectWise ------------------------------------------------------------------------------------------


class ConnectWiseCompanies:
    psa_system = "connectwise"
    COMPANY_FIELDS = "id,identifier,name,website,accountNumber,status/name,isVendorFlag,deletedFlag"
    AGREEMENT_FIELDS = ("id,name,company/id,type/name,startDate,endDate,noEndingDateFlag,cancelledFlag,"
                        "agreementStatus,oneTimeFlag")

    def __init__(self, client: ConnectWiseClient) -> None:
        self.client = client

    def read_companies(self) -> pd.DataFrame:
        from channelsync.clients.connectwise import conditions as c
        from channelsync.clients.connectwise.domain import COMPANIES

        records = self.client.iter(COMPANIES, conditions=c.eq("deletedFlag", False), fields=self.COMPANY_FIELDS)
        rows = [self._company(r) for r in records if not r.get("isVendorFlag")]
        return _frame(rows, PSA_COMPANY, "PSA_COMPANY")

    def company(self, company_id: str) -> dict[str, Any] | None:
        from channelsync.clients.connectwise import conditions as c
        from channelsync.clients.connectwise.domain import COMPANIES

        number = _int(company_id)
        if number is None:
            return None
        found = list(self.client.iter(COMPANIES, conditions=c.eq("id", number), fields=self.COMPANY_FIELDS))
        return self._company(found[0]) if found and not found[0].get("deletedFlag") else None

    def read_contracts(self, company_ids: Sequence[str] | None = None, *, on: date) -> pd.DataFrame:
        from channelsync.clients.connectwise import conditions as c
        from channelsync.clients.connectwise.domain import AGREEMENTS, batch_for_in

        if company_ids is None:
            batches: list[str | None] = [None]
        else:
            ids = [str(n) for n in (_int(i) for i in company_ids) if n is not None]
            batches = [c.in_("company/id", [int(i) for i in batch]) for batch in batch_for_in(ids)] if ids else []
        rows = [self._agreement(r, on) for condition in batches
                for r in self.client.iter(AGREEMENTS, conditions=condition, fields=self.AGREEMENT_FIELDS)]
        return _frame(rows, PSA_CONTRACT, "PSA_CONTRACT")

    def contract(self, contract_id: str, *, on: date) -> dict[str, Any] | None:
        from channelsync.clients.connectwise import conditions as c
        from channelsync.clients.connectwise.domain import AGREEMENTS

        number = _int(contract_id)
        if number is None:
            return None
        found = list(self.client.iter(AGREEMENTS, conditions=c.eq("id", number), fields=self.AGREEMENT_FIELDS))
        return self._agreement(found[0], on) if found else None

    @staticmethod
    def _company(record: dict[str, Any]) -> dict[str, Any]:
        status = _str((record.get("status") or {}).get("name")) if isinstance(record.get("status"), dict) else None
        return {"psa_company_id": _id(record.get("id")), "name": _str(record.get("name")),
                "domain": _str(record.get("website")), "number": _str(record.get("accountNumber")),
                "active": not record.get("deletedFlag") and (status or "Active").lower() != "inactive"}

    @staticmethod
    def _agreement(record: dict[str, Any], on: date) -> dict[str, Any]:
        company = record.get("company") if isinstance(record.get("company"), dict) else {}
        kind = record.get("type") if isinstance(record.get("type"), dict) else {}
        start = _day(record.get("startDate"))
        end = None if record.get("noEndingDateFlag") else _day(record.get("endDate"))
        active = not record.get("cancelledFlag") and _within(on, start, end)
        return {
            "psa_contract_id": _id(record.get("id")), "psa_company_id": _id((company or {}).get("id")),
            "name": _str(record.get("name")), "kind": _str((kind or {}).get("name")), "start": start, "end": end,
            "status": _str(record.get("agreementStatus")), "recurring": not record.get("oneTimeFlag"),
            "active": active,
        }


# --- helpers ----------------------------------------------------------------------------------------------


def _frame(rows: list[dict[str, Any]], schema: dict[str, str], name: str) -> pd.DataFrame:
    if not rows:
        return empty(schema)
    return conform(pd.DataFrame(rows), schema, name=name)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return list(frame.astype(object).where(frame.notna(), None).to_dict("records"))


def _numeric_first(ids: pd.Series) -> pd.Series:
    return pd.to_numeric(ids, errors="coerce")


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _id(value: Any) -> str | None:
    number = _int(value)
    return str(number) if number is not None else _str(value)


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _day(value: Any) -> str | None:
    text = _str(value)
    return text[:10] if text else None


def _within(on: date, start: str | None, end: str | None) -> bool:
    day = on.isoformat()
    return (start is None or start <= day) and (end is None or day <= end)
