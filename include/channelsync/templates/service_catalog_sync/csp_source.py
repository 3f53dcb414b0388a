"""What service_catalog_sync reads from the CSP distributor, through ``adapters.csp_billing``: the price list as
``CSP_PRODUCT`` and, for mode ``in_use``, the SKUs on the latest invoice.

Accounts: the integration's one CSP distributor (``options.distributor`` chooses when it configures both), the
``account`` option or else every account its connection sees (``csp_billing.accounts_from_options``). Several
accounts' price lists are read in turn and the first one carrying a SKU gives its row: a PSA service is one per
SKU, whatever account sells it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import TYPE_CHECKING

import pandas as pd

from channelsync.adapters.csp_billing import CspAccount, accounts_from_options, invoice_lines, list_invoices, price_list
from channelsync.canonical import empty
from channelsync.canonical.billing import CSP_PRODUCT
from channelsync.errors import ConfigError
from channelsync.templates.service_catalog_sync.options import CSP_DISTRIBUTORS, ServiceCatalogSyncOptions

if TYPE_CHECKING:
    from channelsync.config import IntegrationConfig
    from channelsync.runs.context import RunContext

log = logging.getLogger(__name__)


def csp_distributor(integration: IntegrationConfig, options: ServiceCatalogSyncOptions) -> str:
    """The distributor whose price list the run reads; a configuration error when it is not clear."""
    configured = [name for name in CSP_DISTRIBUTORS if name in integration.distributors]
    chosen = options.distributor or (configured[0] if len(configured) == 1 else None)
    if chosen is None or chosen not in integration.distributors:
        wanted = (f"distributor {chosen!r} under 'distributors'" if chosen else
                  "one CSP distributor (crayon or pax8) under 'distributors'" if not configured else
                  f"options.distributor to choose one of {', '.join(configured)}")
        raise ConfigError(f"integration {integration.name!r}: service_catalog_sync needs {wanted}")
    return chosen


def accounts(run: RunContext) -> list[CspAccount]:
    options = _options(run)
    entry = {"distributor": csp_distributor(run.integration, options), "account": options.account}
    return accounts_from_options(run.integration, [entry], clients=run.client)


def read_price_list(run: RunContext, part_numbers: Collection[str] | None = None) -> pd.DataFrame:
    """The price list as ``CSP_PRODUCT`` (retired products are not on it); ``part_numbers``: only those SKUs
    (an empty collection reads nothing)."""
    if part_numbers is not None and not part_numbers:
        return empty(CSP_PRODUCT)
    frames = [price_list(account, part_numbers=sorted(part_numbers) if part_numbers else None)
              for account in accounts(run)]
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return empty(CSP_PRODUCT)
    products = pd.concat(frames, ignore_index=True)
    repeated = products["source_key"].duplicated() & products["parse_error"].isna()
    if repeated.any():
        log.info("%d SKU(s) are on more than one account's price list; the first account's row is used",
                 int(repeated.sum()))
    return products[~repeated.to_numpy(dtype=bool)].reset_index(drop=True)


def in_use_skus(run: RunContext, customers: Collection[str] | None = None) -> set[str]:
    """The SKUs on the latest invoice's lines (every invoice of the newest billed period: Crayon's seat, usage and
    one-time statements are separate invoices), of ``customers`` or of every customer on it when None.

    ``customers`` are distributor customer ids (``INVOICE_LINE.customer_id``: Crayon customer tenant id, Pax8
    company id). It stands in for the customer mapping (the customers whose sync switch is on), which this
    template will read from the state store once mappings exist; until then the template passes the
    ``in_use_customers`` option (empty: every customer on the invoice)."""
    wanted = {str(c) for c in customers} if customers else None
    skus: set[str] = set()
    for account in accounts(run):
        invoices = list_invoices(account)
        if not invoices:
            continue
        newest = invoices[0].period_end  # newest first
        for invoice in (ref for ref in invoices if ref.period_end == newest):
            lines = invoice_lines(account, invoice.invoice_id)
            if wanted is not None:
                lines = lines[lines["customer_id"].astype("string").isin(sorted(wanted)).to_numpy(dtype=bool)]
            skus.update(str(sku) for sku in lines["sku"].dropna())
    return skus


def _options(run: RunContext) -> ServiceCatalogSyncOptions:
    options = run.options
    assert isinstance(options, ServiceCatalogSyncOptions)
    return options
