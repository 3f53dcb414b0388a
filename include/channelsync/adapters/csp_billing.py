"""The distributor side of CSP billing, PSA-neutral: Crayon / PRISM and Pax8 → the canonical billing
tables (``canonical.billing``), for service_catalog_sync and subscription_billing.

The one place that knows the vendors' shapes (``csp_crayon``, ``csp_pax8``); the templates see only:

- :class:`CspAccount` and :func:`accounts_from_options`: which distributor accounts an integration bills
  (a Crayon organization seen through one connection; a Pax8 partner, which is one connection);
- :func:`price_list` → ``CSP_PRODUCT``; :func:`list_invoices` → :class:`InvoiceRef` (cheap: a watcher
  polls it); :func:`invoice_lines` → ``INVOICE_LINE``.

A record that cannot be read as it stands (wrong types, missing keys, a period ending before it starts)
is kept as a row with ``parse_error`` saying why, never dropped; an unknown charge type is not
unreadable: it keeps the vendor's name for the quality suite to quarantine. An answer that is not the
shape of the call at all (not JSON, not a list) is refused whole by the client (``*_BAD_RESPONSE``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from channelsync.adapters import csp_crayon, csp_pax8
from channelsync.canonical import conform
from channelsync.canonical.billing import CSP_PRODUCT, INVOICE_LINE
from channelsync.errors import ConfigError

CRAYON, PAX8 = csp_crayon.DISTRIBUTOR, csp_pax8.DISTRIBUTOR
DISTRIBUTORS = (CRAYON, PAX8)

# (system, conn_id) → a plain client: ``RunContext.client`` in a run (one client per connection per run).
ClientFactory = Callable[[str, str], Any]


def _hook_clients(system: str, conn_id: str) -> Any:
    from channelsync.runs.context import hook_client_factory

    return hook_client_factory(system, conn_id)


@dataclass(frozen=True)
class CspAccount:
    """One distributor account: Crayon, an organization id seen through one connection; Pax8, one
    partner = one connection (``account`` is the connection id unless configured otherwise)."""

    distributor: str
    conn_id: str
    account: str
    clients: ClientFactory | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.distributor}:{self.account}"

    def client(self) -> Any:
        """The account's client, from ``clients`` (the run's) or else through the Airflow hook."""
        return (self.clients or _hook_clients)(self.distributor, self.conn_id)


@dataclass(frozen=True)
class InvoiceRef:
    """One invoice of an account (a Crayon billing statement, a Pax8 invoice), without its lines."""

    account: CspAccount
    invoice_id: str
    period_start: date
    period_end: date
    published: date | None  # Pax8's invoiceDate; Crayon statements carry none
    total: Decimal  # what the partner owes (Crayon TotalSalesPrice, Pax8 total)
    currency: str | None
    status: str | None = None  # Pax8's (Unpaid, Paid, Void, ...); Crayon's statements have none

    @property
    def key(self) -> str:
        return f"{self.account.key}:{self.invoice_id}"

    def as_dict(self) -> dict[str, str | None]:
        """Plain text (for an XCom or an Asset event's extra)."""
        return {"distributor": self.account.distributor, "conn_id": self.account.conn_id,
                "account": self.account.account, "invoice_id": self.invoice_id,
                "period_start": self.period_start.isoformat(), "period_end": self.period_end.isoformat(),
                "published": self.published.isoformat() if self.published else None, "total": str(self.total),
                "currency": self.currency, "status": self.status}


def accounts_from_options(integration: Any, options_accounts: Iterable[Any] | None = None, *,
                          clients: ClientFactory | None = None) -> list[CspAccount]:
    """The accounts an integration bills. ``options_accounts``: the template's ``accounts`` option (dicts
    or objects with ``distributor``, ``conn_id``, ``account``; ``conn_id`` missing: the integration's
    connection for that distributor; ``account`` missing: Crayon, every organization the login sees
    (one call), Pax8, the connection). Empty: every configured crayon / pax8 distributor so."""
    entries = list(options_accounts or []) or [{"distributor": d} for d in DISTRIBUTORS
                                               if d in integration.distributors]
    out: list[CspAccount] = []
    for entry in entries:
        distributor = str(_option(entry, "distributor") or "")
        if distributor not in DISTRIBUTORS:
            raise ConfigError(f"integration {integration.name!r}: billing account distributor {distributor!r} is "
                              f"not one of {', '.join(DISTRIBUTORS)}")
        configured = integration.distributors.get(distributor)
        conn_id = _option(entry, "conn_id") or (configured.conn_id if configured is not None else None)
        if not conn_id:
            raise ConfigError(f"integration {integration.name!r}: a {distributor} billing account needs a conn_id "
                              f"(none given and {distributor} has no conn_id under 'distributors')")
        account = _option(entry, "account")
        if account:
            names = [str(account)]
        elif distributor == CRAYON:
            names = csp_crayon.organizations((clients or _hook_clients)(CRAYON, str(conn_id)))
        else:
            names = [str(conn_id)]
        for name in names:
            candidate = CspAccount(distributor, str(conn_id), name, clients)
            if candidate not in out:
                out.append(candidate)
    return out


def _option(entry: Any, name: str) -> Any:
    return entry.get(name) if isinstance(entry, Mapping) else getattr(entry, name, None)


def _source(source: Any) -> tuple[str, str, Any]:
    """(distributor, account, client) of a :class:`CspAccount` or a bare client."""
    if isinstance(source, CspAccount):
        return source.distributor, source.account, source.client()
    from channelsync.clients.crayon import CrayonClient
    from channelsync.clients.pax8 import Pax8Client

    if isinstance(source, CrayonClient):
        return CRAYON, "", source
    if isinstance(source, Pax8Client):
        return PAX8, "", source
    raise TypeError(f"price_list takes a CspAccount, a CrayonClient or a Pax8Client, not {type(source).__name__}")


def price_list(source: CspAccount | Any, *, part_numbers: Collection[str] | None = None,
               vendor: str | None = None) -> pd.DataFrame:
    """The account's price list as ``CSP_PRODUCT`` (``source``: a :class:`CspAccount`, or a bare client,
    then ``account`` is empty). ``part_numbers``: only those SKUs (service_catalog_sync's "in use only";
    Pax8: fewer pricing calls); ``vendor``: Pax8 products of that vendor only (Crayon: ignored)."""
    distributor, account, client = _source(source)
    if distributor == CRAYON:
        rows = list(csp_crayon.product_rows(client, account, part_numbers))
    else:
        rows = list(csp_pax8.product_rows(client, account, part_numbers, vendor))
    return conform(pd.DataFrame(rows, columns=list(CSP_PRODUCT)), CSP_PRODUCT, name=f"{distributor} price list")


def list_invoices(account: CspAccount, since: date | None = None) -> list[InvoiceRef]:
    """The account's invoices whose period ends on or after ``since`` (all when None), newest first."""
    vendor = csp_crayon if account.distributor == CRAYON else csp_pax8
    refs = [InvoiceRef(account=account, **facts) for facts in vendor.invoices(account.client(), account.account, since)
            if since is None or facts["period_end"] >= since]
    return sorted(refs, key=lambda ref: (ref.period_end, ref.invoice_id), reverse=True)


def invoice_lines(account: CspAccount, invoice_id: str) -> pd.DataFrame:
    """One invoice's lines as ``INVOICE_LINE`` (charge types mapped to canonical names, signed ratios,
    per-period prices; see ``csp_crayon`` / ``csp_pax8`` for each vendor's reading)."""
    client = account.client()
    if account.distributor == CRAYON:
        rows = list(csp_crayon.line_rows(client, account.account, str(invoice_id)))
    else:
        rows = list(csp_pax8.line_rows(client, account.account, str(invoice_id)))
    frame = pd.DataFrame(rows, columns=list(INVOICE_LINE))
    return conform(frame, INVOICE_LINE, name=f"{account.distributor} invoice {invoice_id}")
