"""Customer mappings of subscription billing: a distributor customer → a PSA company and recurring
contract, with a sync switch per customer, and an audit row per change (issue #10, "Customer mapping").

A customer is keyed by :class:`CustomerKey` (distributor, distributor account, customer id: a Crayon
customer tenant id, a Pax8 company id). One integration has at most one mapping per key (the table's
unique key makes a second one impossible); every write records its audit row (who, when, action, the
row before and after: ``state/mapping_audit.py``, kind ``customer``) in the same transaction, and a write
that changes nothing records nothing.

Also here, pure and without I/O:

- :func:`suggest`: candidate PSA companies for distributor customers, by reference, exact name,
  normalised name, domain and fuzzy name, each with a score and its reason. Never applied by itself:
  ``channelsync mapping suggest`` prints them and applies only the keys a person names.
- :func:`unmapped`: the customers of invoice lines that no mapping covers, with line count and totals.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from channelsync.errors import ChannelsyncError, define
from channelsync.state import mapping_audit
from channelsync.state.db import session_scope
from channelsync.state.models import CustomerMapping
from channelsync.state.row_writes import inserted, locked

MAPPING_NOT_FOUND = define("MAPPING_NOT_FOUND", "channelsync", "The integration has no mapping for that customer")
MAPPING_INVALID = define("MAPPING_INVALID", "channelsync", "A customer mapping or its key is not valid")

# The frame :func:`load_mappings` returns (and :func:`unmapped` reads).
MAPPING: dict[str, str] = {
    "distributor": "string",
    "account": "string",
    "customer_id": "string",
    "customer_name": "string",
    "psa_company_id": "string",
    "psa_contract_id": "string",
    "sync_enabled": "boolean",
}
# The fields of a mapping an audit row's before / after carry.
AUDITED = ("customer_name", "psa_company_id", "psa_contract_id", "psa_tenant", "sync_enabled")


class MappingError(ChannelsyncError):
    code = MAPPING_INVALID


class MappingNotFound(MappingError):
    code = MAPPING_NOT_FOUND


class CustomerKey(NamedTuple):
    """One distributor customer: ``crayon:4401:310007`` (organization 4401, tenant 310007)."""

    distributor: str
    account: str
    customer_id: str

    @classmethod
    def parse(cls, text: str) -> CustomerKey:
        """``distributor:account:customer_id`` (the customer id may itself contain colons)."""
        parts = text.strip().split(":", 2)
        if len(parts) != 3 or not all(part.strip() for part in parts):
            raise MappingError(f"not a customer key: {text!r} (expected distributor:account:customer_id, e.g. "
                               "crayon:4401:310007)")
        return cls.of(*parts)

    @classmethod
    def of(cls, distributor: Any, account: Any, customer_id: Any) -> CustomerKey:
        """Normalised: the distributor lower case, every part a stripped string."""
        return cls(str(distributor).strip().lower(), _text(account), _text(customer_id))

    def __str__(self) -> str:
        return f"{self.distributor}:{self.account}:{self.customer_id}"


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():  # an id read back from a frame as 310007.0
        value = int(value)
    return str(value).strip()


# --- reading ---------------------------------------------------------------------------------------


def load_mappings(url: str, integration: str) -> pd.DataFrame:
    """Every mapping of the integration as the :data:`MAPPING` frame, ordered by key."""
    with session_scope(url) as session:
        rows = session.scalars(
            select(CustomerMapping).where(CustomerMapping.integration == integration)
            .order_by(CustomerMapping.distributor, CustomerMapping.account, CustomerMapping.customer_id)
        ).all()
        records = [{column: getattr(row, column) for column in MAPPING} for row in rows]
    frame = pd.DataFrame(records, columns=list(MAPPING))
    return frame.astype(MAPPING)


def list_mappings(url: str, integration: str) -> list[dict[str, Any]]:
    """Every mapping of the integration as dicts (key, the audited fields, who changed it last, when)."""
    with session_scope(url) as session:
        rows = session.scalars(
            select(CustomerMapping).where(CustomerMapping.integration == integration)
            .order_by(CustomerMapping.distributor, CustomerMapping.account, CustomerMapping.customer_id)
        ).all()
        return [{**_record(row), **_snapshot(row)} for row in rows]


def get_mapping(url: str, integration: str, key: CustomerKey) -> dict[str, Any] | None:
    """One mapping as a dict (the audited fields, plus who changed it last and when), or None."""
    with session_scope(url) as session:
        row = _find(session, integration, CustomerKey.of(*key))
        return None if row is None else {**_record(row), **_snapshot(row)}


def mapping_history(url: str, integration: str, key: CustomerKey | None = None) -> list[dict[str, Any]]:
    """The audit rows of the integration (of one customer when ``key`` is given), oldest first."""
    text = None if key is None else str(CustomerKey.of(*key))
    rows = mapping_audit.history(url, integration, "customer", text)
    for row in rows:  # split, not parsed: a row from before 0004 has an empty account
        distributor, account, customer_id = [*row["key"].split(":", 2), "", ""][:3]
        row.update(distributor=distributor, account=account, customer_id=customer_id)
        del row["kind"]
    return rows


def conflicting_mappings(url: str, *, psa_tenant: str | None = None) -> pd.DataFrame:
    """Customers mapped by more than one integration on the same PSA tenant (the mappings record the
    tenant they were validated against), one row per mapping: psa_tenant, distributor, account,
    customer_id, integration, psa_company_id, psa_contract_id, sync_enabled, and ``same_target`` (every
    integration maps the customer to the same company and contract). Within one integration a customer
    cannot be mapped twice (unique key); across integrations the ledger keeps a posting from being made
    twice, but two different targets mean one integration's lines go to a contract the other does not
    expect — someone should decide."""
    query = select(CustomerMapping).where(CustomerMapping.psa_tenant.is_not(None))
    if psa_tenant is not None:
        query = query.where(CustomerMapping.psa_tenant == psa_tenant)
    columns = ["psa_tenant", "distributor", "account", "customer_id", "integration", "psa_company_id",
               "psa_contract_id", "sync_enabled"]
    with session_scope(url) as session:
        records = [{column: getattr(row, column) for column in columns} for row in session.scalars(query)]
    frame = pd.DataFrame(records, columns=columns)
    group = ["psa_tenant", "distributor", "account", "customer_id"]
    counts = frame.groupby(group)["integration"].transform("nunique")
    frame = frame[counts > 1].copy()
    targets = (frame["psa_company_id"].fillna("") + "/" + frame["psa_contract_id"].fillna(""))
    frame["same_target"] = targets.groupby([frame[c] for c in group]).transform("nunique") == 1
    return frame.sort_values([*group, "integration"]).reset_index(drop=True)


# --- changing ---------------------------------------------------------------------------------------


def set_mapping(
    url: str, integration: str, key: CustomerKey, *, company: str, contract: str | None,
    sync_enabled: bool = True, by: str, customer_name: str | None = None, psa_tenant: str | None = None,
) -> str | None:
    """Map the customer to ``company`` / ``contract`` (creating or replacing its mapping). The customer
    name and PSA tenant are kept when not given. Returns the action recorded (``create`` / ``update``),
    or None when the mapping already said exactly this."""
    key = CustomerKey.of(*key)
    company = _required(company, "the PSA company id")
    contract = _optional(contract)
    by = _actor(by)
    with session_scope(url) as session:
        row = _locked(session, integration, key)
        if row is None:
            created = CustomerMapping(
                integration=integration, distributor=key.distributor, account=key.account,
                customer_id=key.customer_id, customer_name=_optional(customer_name), psa_company_id=company,
                psa_contract_id=contract, psa_tenant=_optional(psa_tenant), sync_enabled=bool(sync_enabled),
                updated_by=by, updated_at=_now(),
            )
            if inserted(session, created):
                _audit(session, integration, key, "create", None, _snapshot(created), by)
                return "create"
            row = _locked(session, integration, key)  # another writer created it first: update theirs
            assert row is not None
        changes: dict[str, Any] = {"psa_company_id": company, "psa_contract_id": contract,
                                   "sync_enabled": bool(sync_enabled)}
        if customer_name is not None:
            changes["customer_name"] = _optional(customer_name)
        if psa_tenant is not None:
            changes["psa_tenant"] = _optional(psa_tenant)
        return _change(session, row, integration, key, "update", changes, by)


def set_sync(url: str, integration: str, key: CustomerKey, enabled: bool, by: str) -> str | None:
    """Switch the customer's billing sync on or off. Returns ``enable`` / ``disable``, or None when it
    already was; :class:`MappingNotFound` when the customer has no mapping."""
    key = CustomerKey.of(*key)
    by = _actor(by)
    with session_scope(url) as session:
        row = _existing(session, integration, key)
        return _change(session, row, integration, key, "enable" if enabled else "disable",
                       {"sync_enabled": bool(enabled)}, by)


def remove_mapping(url: str, integration: str, key: CustomerKey, *, by: str) -> str:
    """Delete the customer's mapping (its history stays). Returns ``remove``; :class:`MappingNotFound`
    when there is none."""
    key = CustomerKey.of(*key)
    by = _actor(by)
    with session_scope(url) as session:
        row = _existing(session, integration, key)
        before = _snapshot(row)
        session.delete(row)
        _audit(session, integration, key, "remove", before, None, by)
        return "remove"


def refresh_names(url: str, integration: str, names: Mapping[CustomerKey, str], *, by: str = "channelsync") -> int:
    """Record the customer names as the distributor now states them (``customer_name`` is "as last
    seen"), for the mapped customers whose name changed; each change is audited as ``rename``.
    Returns how many changed."""
    by = _actor(by)
    wanted = {CustomerKey.of(*key): str(name).strip() for key, name in names.items() if str(name or "").strip()}
    changed = 0
    with session_scope(url) as session:
        rows = session.scalars(select(CustomerMapping).where(CustomerMapping.integration == integration)).all()
        for row in rows:
            key = CustomerKey(row.distributor, row.account, row.customer_id)
            name = wanted.get(key)
            if name is not None and name != row.customer_name:
                _change(session, row, integration, key, "rename", {"customer_name": name}, by)
                changed += 1
    return changed


# --- helpers of the writes ----------------------------------------------------------------------------


def _where(integration: str, key: CustomerKey) -> Any:
    return (CustomerMapping.integration == integration, CustomerMapping.distributor == key.distributor,
            CustomerMapping.account == key.account, CustomerMapping.customer_id == key.customer_id)


def _find(session: Session, integration: str, key: CustomerKey) -> CustomerMapping | None:
    return session.scalars(select(CustomerMapping).where(*_where(integration, key))).first()


def _locked(session: Session, integration: str, key: CustomerKey) -> CustomerMapping | None:
    """The mapping, held until the transaction ends so the audit's "before" is what is replaced."""
    found: CustomerMapping | None = locked(session, CustomerMapping, _where(integration, key), touch="sync_enabled")
    return found


def _existing(session: Session, integration: str, key: CustomerKey) -> CustomerMapping:
    row = _locked(session, integration, key)
    if row is None:
        raise MappingNotFound(f"integration {integration!r} has no mapping for customer {key}: "
                              f"`channelsync mapping list --integration {integration}` lists them")
    return row


def _change(session: Session, row: CustomerMapping, integration: str, key: CustomerKey, action: str,
            changes: dict[str, Any], by: str) -> str | None:
    before = _snapshot(row)
    if all(before[field] == value for field, value in changes.items()):
        return None
    for field, value in changes.items():
        setattr(row, field, value)
    row.updated_by, row.updated_at = by, _now()
    _audit(session, integration, key, action, before, _snapshot(row), by)
    return action


def _audit(session: Session, integration: str, key: CustomerKey, action: str, before: dict[str, Any] | None,
           after: dict[str, Any] | None, by: str) -> None:
    mapping_audit.record(session, integration=integration, kind="customer", key=str(key), action=action,
                         before=before, after=after, by=by)


def _snapshot(row: CustomerMapping) -> dict[str, Any]:
    return {field: (bool(getattr(row, field)) if field == "sync_enabled" else getattr(row, field))
            for field in AUDITED}


def _record(row: CustomerMapping) -> dict[str, Any]:
    return {"integration": row.integration, "distributor": row.distributor, "account": row.account,
            "customer_id": row.customer_id, "key": str(CustomerKey(row.distributor, row.account, row.customer_id)),
            "updated_by": row.updated_by, "updated_at": _aware(row.updated_at).isoformat()}


def _required(value: Any, what: str) -> str:
    text = _optional(value)
    if text is None:
        raise MappingError(f"{what} is required")
    if len(text) > 64:
        raise MappingError(f"{what} {text[:70]!r}… is longer than 64 characters")
    return text


def _optional(value: Any) -> str | None:
    if value is None:
        return None
    text = _text(value)
    return text or None


def _actor(by: str) -> str:
    text = str(by or "").strip()
    if not text:
        raise MappingError("who makes the change is required (--by)")
    return text[:100]


def _now() -> datetime:
    return mapping_audit.now()


_aware = mapping_audit.aware


# --- suggestions (pure) ---------------------------------------------------------------------------------

# Scores: how sure a reason is, 0..1. A (customer, company) pair scores its best reason; every reason
# found is listed. Fuzzy matching compares *normalised* names with difflib's SequenceMatcher ratio and
# keeps pairs at or above FUZZY_THRESHOLD (0.85: "Contoso Pharmaceuticals" ~ "Contoso Pharmaceutical"
# passes, "Contoso Ltd" ~ "Fabrikam Ltd" does not); its score is 0.8 × the ratio, so a fuzzy match
# always ranks below the deterministic reasons.
SCORES = {"reference": 0.98, "exact name": 1.0, "domain": 0.95, "normalised name": 0.9, "domain name": 0.85}
FUZZY_THRESHOLD = 0.85
FUZZY_WEIGHT = 0.8
# Words that say what kind of company it is, not which: dropped from the end of a normalised name.
LEGAL_SUFFIXES = frozenset({
    "inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "plc", "corp", "corporation", "co", "company",
    "gmbh", "mbh", "ag", "kg", "ug", "ev", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "oy", "ab", "as", "aps",
    "pty", "pvt", "pte", "kk", "and",
})
_DOMAIN_PREFIXES = ("www.",)
_TENANT_SUFFIX = ".onmicrosoft.com"


@dataclass(frozen=True)
class Suggestion:
    """A candidate PSA company for a distributor customer. ``reasons`` lists every way they matched,
    best first; ``score`` is the best one's (see :data:`SCORES`)."""

    key: CustomerKey
    customer_name: str
    psa_company_id: str
    company_name: str
    score: float
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return ", ".join(self.reasons)


def normalise_name(name: Any) -> str:
    """Lower case, accents and punctuation removed, ``&`` as "and", legal-form words (Inc, LLC, Ltd,
    GmbH, …) dropped from the end: "Contoso, Inc." and "CONTOSO LLC" both become "contoso"."""
    if name is None or (isinstance(name, float) and pd.isna(name)):
        return ""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().casefold()
    text = text.replace("&", " and ").replace(".", "")  # "L.L.C." → "llc", "Inc." → "inc"
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def normalise_domain(value: Any) -> str:
    """A host name from a domain, e-mail address or web address: ``https://www.Contoso.com/about`` →
    ``contoso.com``; empty when there is none."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = str(value).strip().lower()
    text = text.rsplit("@", 1)[-1]
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = re.split(r"[/?#:\s]", text, maxsplit=1)[0].strip(".")
    for prefix in _DOMAIN_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text if "." in text else ""


def domain_name(host: str) -> str:
    """The label that names the organisation: a tenant's prefix (``contoso.onmicrosoft.com`` →
    ``contoso``), else the first label (``contoso.com``, ``contoso.example.com`` → ``contoso``);
    empty when shorter than 3 characters."""
    label = host[: -len(_TENANT_SUFFIX)] if host.endswith(_TENANT_SUFFIX) else host.split(".", 1)[0]
    return label if len(label) >= 3 else ""


def suggest(customers: pd.DataFrame | Iterable[Mapping[str, Any]],
            companies: pd.DataFrame | Iterable[Mapping[str, Any]], *, limit: int = 3) -> list[Suggestion]:
    """Candidate companies for each customer, best first (at most ``limit`` per customer).

    ``customers``: distributor, account, customer_id, customer_name, and optionally customer_domain
    and reference (what the MSP typed as the customer's reference at the distributor) — the
    ``adapters/csp_customers.py`` CSP_CUSTOMER frame, or invoice lines. ``companies``: psa_company_id,
    name, and optionally domain (web address) and number (Autotask companyNumber, ConnectWise
    accountNumber) — the ``adapters/psa_companies.py`` PSA_COMPANY frame. Reasons: ``reference``
    (customer reference = company number), ``exact name``, ``normalised name``, ``domain`` (same host),
    ``domain name`` (the tenant prefix or first label equals the company's), ``fuzzy name 0.91``.
    """
    customer_rows = _rows(customers)
    company_rows = _rows(companies)
    by_exact: dict[str, list[int]] = {}
    by_normal: dict[str, list[int]] = {}
    by_host: dict[str, list[int]] = {}
    by_label: dict[str, list[int]] = {}
    by_number: dict[str, list[int]] = {}
    normals: list[str] = []
    for index, company in enumerate(company_rows):
        name = _clean(company.get("name"))
        normal = normalise_name(name)
        normals.append(normal)
        host = normalise_domain(company.get("domain"))
        for table, value in ((by_exact, name), (by_normal, normal), (by_host, host),
                             (by_label, domain_name(host) if host else ""),
                             (by_number, _clean(company.get("number")).casefold())):
            if value:
                table.setdefault(value, []).append(index)
    out: list[Suggestion] = []
    seen: set[CustomerKey] = set()
    for customer in customer_rows:
        key = CustomerKey.of(customer.get("distributor"), customer.get("account"), customer.get("customer_id"))
        if key in seen:  # invoice lines: one customer, many lines
            continue
        seen.add(key)
        name = _clean(customer.get("customer_name"))
        normal = normalise_name(name)
        host = normalise_domain(customer.get("customer_domain"))
        label = domain_name(host) if host else ""
        found: dict[int, list[tuple[float, str]]] = {}

        def add(indexes: Iterable[int], reason: str, score: float, found: dict[int, list[tuple[float, str]]] = found
                ) -> None:
            for index in indexes:
                found.setdefault(index, []).append((score, reason))

        reference = _clean(customer.get("reference")).casefold()
        if reference:
            add(by_number.get(reference, ()), "reference", SCORES["reference"])
        if name:
            add(by_exact.get(name, ()), "exact name", SCORES["exact name"])
        if normal:
            add(by_normal.get(normal, ()), "normalised name", SCORES["normalised name"])
        if host and not host.endswith(_TENANT_SUFFIX):
            add(by_host.get(host, ()), "domain", SCORES["domain"])
        if label:
            add(by_label.get(label, ()), "domain name", SCORES["domain name"])
        if normal:
            add(*_fuzzy(normal, normals, skip=set(found)))
        ranked = sorted(
            ((max(score for score, _ in reasons), index, reasons) for index, reasons in found.items()),
            key=lambda item: (-item[0], _clean(company_rows[item[1]].get("name")).casefold(), item[1]),
        )
        for score, index, reasons in ranked[:limit]:
            company = company_rows[index]
            out.append(Suggestion(
                key=key, customer_name=name, psa_company_id=_text(company.get("psa_company_id")),
                company_name=_clean(company.get("name")), score=round(score, 3),
                reasons=tuple(reason for _, reason in sorted(reasons, key=lambda r: -r[0])),
            ))
    return out


def _fuzzy(normal: str, normals: list[str], *, skip: set[int]) -> tuple[list[int], str, float]:
    """The companies whose normalised name is closest to ``normal`` (ratio ≥ FUZZY_THRESHOLD), as one
    ``add`` call: (indexes, reason, score). difflib's cheap upper bounds skip most pairs."""
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(normal)
    best: list[int] = []
    best_ratio = 0.0
    for index, other in enumerate(normals):
        if index in skip or not other or other == normal:
            continue
        matcher.set_seq1(other)
        if matcher.real_quick_ratio() < FUZZY_THRESHOLD or matcher.quick_ratio() < FUZZY_THRESHOLD:
            continue
        ratio = matcher.ratio()
        if ratio < FUZZY_THRESHOLD or ratio < best_ratio:
            continue
        if ratio > best_ratio:
            best, best_ratio = [], ratio
        best.append(index)
    return best, f"fuzzy name {best_ratio:.2f}", FUZZY_WEIGHT * best_ratio


def _rows(data: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if isinstance(data, pd.DataFrame):
        return list(data.astype(object).where(data.notna(), None).to_dict("records"))
    return list(data)


def _clean(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    return " ".join(str(value).split())


# --- the unmapped report (pure) ---------------------------------------------------------------------------

UNMAPPED: dict[str, str] = {
    "distributor": "string",
    "account": "string",
    "customer_id": "string",
    "customer_name": "string",
    "reason": "string",  # "no mapping" | "no contract" (mapped to a company, no recurring contract yet)
    "lines": "Int64",
    "price_total": "float64",
    "cost_total": "float64",
    "currency": "string",  # the lines' currency; several joined with ","
}


def unmapped(lines_frame: pd.DataFrame, mappings: pd.DataFrame) -> pd.DataFrame:
    """The customers of invoice lines (``canonical.billing.INVOICE_LINE``) that no mapping covers —
    none, or one without a contract — with their line count and the lines' totals, largest retail
    total first. A customer whose sync is switched off *is* mapped (a person chose not to bill it) and
    is not listed. Nothing is guessed: :func:`suggest` proposes, a person decides."""
    key = ["distributor", "account", "customer_id"]
    if lines_frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in UNMAPPED.items()})
    lines = lines_frame.copy()
    for column in key:
        lines[column] = lines[column].map(_key_part)
    lines["distributor"] = lines["distributor"].str.lower()
    for column, default in (("customer_name", pd.NA), ("price_total", 0.0), ("cost_total", 0.0), ("currency", pd.NA)):
        if column not in lines.columns:
            lines[column] = default
    known = mappings[[*key, "psa_contract_id"]].copy() if not mappings.empty else pd.DataFrame(
        columns=[*key, "psa_contract_id"])
    for column in key:
        known[column] = known[column].map(_key_part)
    known["distributor"] = known["distributor"].str.lower()
    known = known.drop_duplicates(key)
    joined = lines.merge(known, on=key, how="left", indicator=True)
    without_contract = joined["psa_contract_id"].isna() | (joined["psa_contract_id"].astype("string").str.strip() == "")
    joined["reason"] = pd.Series(pd.NA, index=joined.index, dtype="string")
    joined.loc[joined["_merge"] == "left_only", "reason"] = "no mapping"
    joined.loc[(joined["_merge"] == "both") & without_contract, "reason"] = "no contract"
    missing = joined[joined["reason"].notna()]
    if missing.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in UNMAPPED.items()})
    grouped = missing.groupby(key, dropna=False, sort=False).agg(
        customer_name=("customer_name", _first_name),
        reason=("reason", "first"),
        lines=("customer_id", "size"),
        price_total=("price_total", lambda s: float(pd.to_numeric(s, errors="coerce").fillna(0).sum())),
        cost_total=("cost_total", lambda s: float(pd.to_numeric(s, errors="coerce").fillna(0).sum())),
        currency=("currency", lambda s: ",".join(sorted({str(v) for v in s.dropna()})) or pd.NA),
    ).reset_index()
    grouped["price_total"] = grouped["price_total"].round(2)
    grouped["cost_total"] = grouped["cost_total"].round(2)
    grouped = grouped.sort_values(["price_total", *key], ascending=[False, True, True, True])
    return grouped[list(UNMAPPED)].astype(UNMAPPED).reset_index(drop=True)


def _key_part(value: Any) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)) else _text(value)


def _first_name(names: pd.Series) -> Any:
    present = [str(v) for v in names.dropna() if str(v).strip()]
    return present[0] if present else pd.NA
