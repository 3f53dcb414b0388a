"""Distributor customers for customer mapping: Crayon customer tenants and Pax8 companies, as the
:data:`CSP_CUSTOMER` table (the customers :func:`channelsync.state.mappings.suggest` proposes PSA
companies for, and the ones ``channelsync mapping set`` checks a key against).

A customer's key is (distributor, account, customer id), as on invoice lines
(``canonical.billing.INVOICE_LINE``), and the accounts are the ones billing reads
(``adapters.csp_billing.accounts_from_options``): a Crayon organization id (its tenants are read with
that ``OrganizationId``), a Pax8 partner (one connection; the account is the connection id unless
configured otherwise).

Records are read through the clients' public methods; field names are matched case-insensitively
(Crayon's API answers in PascalCase, its spec writes camelCase).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from channelsync.canonical import conform, empty
from channelsync.errors import ApiError

CSP_CUSTOMER: dict[str, str] = {
    "distributor": "string",  # crayon | pax8
    "account": "string",  # see distributor_account
    "customer_id": "string",  # Crayon customer tenant id, Pax8 company id
    "customer_name": "string",
    "customer_domain": "string",  # Crayon: the tenant's domain (x.onmicrosoft.com); Pax8: the website
    "reference": "string",  # what the MSP typed as the customer's reference (Crayon reference, Pax8 externalId)
}
CSP_DISTRIBUTORS = ("crayon", "pax8")
_NOT_FOUND = {"CRAYON_NOT_FOUND", "PAX8_NOT_FOUND"}

# (system, conn_id) → a client, as RunContext.client or hook_client_factory.
ClientFor = Callable[[str, str], Any]


def field(record: Any, *path: str) -> Any:
    """``record[path[0]][path[1]]…`` with every key matched case-insensitively; None when absent."""
    value = record
    for name in path:
        if not isinstance(value, dict):
            return None
        if name in value:
            value = value[name]
            continue
        lowered = name.lower()
        value = next((v for k, v in value.items() if isinstance(k, str) and k.lower() == lowered), None)
    return value


def crayon_customers(client: Any, *, account: str) -> pd.DataFrame:
    """The customer tenants of one Crayon account (an organization id; any other name: every tenant the
    login sees, as billing reads that account's invoices)."""
    tenants = client.iter_customer_tenants(organization_id=_organization(account))
    return _frame(crayon_customer_row(r, account=account) for r in tenants)


def crayon_customer_row(record: dict[str, Any], *, account: str) -> dict[str, Any]:
    return {
        "distributor": "crayon", "account": account, "customer_id": _text(field(record, "id")),
        "customer_name": _optional(field(record, "name")), "customer_domain": _optional(field(record, "domain")),
        "reference": _optional(field(record, "reference")),
    }


def pax8_customers(client: Any, *, account: str) -> pd.DataFrame:
    """Every company of the Pax8 partner."""
    return _frame(pax8_customer_row(r, account=account) for r in client.iter_companies())


def pax8_customer_row(record: dict[str, Any], *, account: str) -> dict[str, Any]:
    return {
        "distributor": "pax8", "account": account, "customer_id": _text(field(record, "id")),
        "customer_name": _optional(field(record, "name")), "customer_domain": _optional(field(record, "website")),
        "reference": _optional(field(record, "externalId")),
    }


def read_customers(accounts: Iterable[Any], client_for: ClientFor) -> pd.DataFrame:
    """The customers of every account (objects with ``distributor``, ``conn_id`` and ``account``, as
    ``csp_billing.CspAccount``); accounts of other distributors are ignored."""
    frames = []
    for account in accounts:
        if account.distributor not in CSP_DISTRIBUTORS:
            continue
        client = client_for(account.distributor, account.conn_id)
        read = crayon_customers if account.distributor == "crayon" else pax8_customers
        frames.append(read(client, account=str(account.account)))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return empty(CSP_CUSTOMER)
    return pd.concat(frames, ignore_index=True).drop_duplicates(["distributor", "account", "customer_id"])


def find_customer(distributor: str, client: Any, customer_id: str, *, account: str) -> dict[str, Any] | None:
    """One customer as a :data:`CSP_CUSTOMER` row, read by id; None when the distributor has none. A
    Crayon tenant of another organization than a numeric ``account`` comes back with its own
    organization id as the account (the caller says which key to use)."""
    try:
        if distributor == "crayon":
            try:
                tenant_id = int(customer_id)
            except ValueError:
                return None
            record = client.get_customer_tenant(tenant_id)
            organization = _text(field(record, "organization", "id"))
            actual = organization if _organization(account) is not None and organization else account
            return crayon_customer_row(record, account=actual)
        if distributor == "pax8":
            return pax8_customer_row(client.get_company(customer_id), account=account)
    except ApiError as exc:
        if exc.code in _NOT_FOUND or exc.status == 404:
            return None
        raise
    raise ValueError(f"{distributor} is not a CSP distributor ({', '.join(CSP_DISTRIBUTORS)})")


def _organization(account: str) -> int | None:
    return int(account) if str(account).isdigit() else None


def _frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    rows = list(rows)
    return conform(pd.DataFrame(rows), CSP_CUSTOMER, name="CSP_CUSTOMER") if rows else empty(CSP_CUSTOMER)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _optional(value: Any) -> str | None:
    text = _text(value)
    return text or None
