"""The invoice watcher: a light poll of each billed account's invoice list that announces the invoices
not yet announced, as one Asset event whose extra lists them; subscription_billing is scheduled on that
Asset (``dag_builder.build_watcher_dag`` builds the DAG). It polls, it does not guess dates: Pax8 publishes on the
5th, Crayon when the month's statement closes, and either may be late.

Announced invoices are remembered in the cross-reference (entity ``invoice``), so an invoice is announced
once; a new integration announces only each account's latest invoice, not its whole history. Billing
an invoice twice is harmless anyway (every posting is keyed by its invoice and line in the ledger).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from channelsync.templates.subscription_billing.options import SubscriptionBillingOptions

if TYPE_CHECKING:
    from channelsync.runs.context import RunContext

log = logging.getLogger(__name__)
ENTITY = "invoice"


class InvoiceWatcher:
    """What ``TemplateSpec.watcher`` names: when to poll, and the poll. Light: imported at parse time."""

    def schedule(self, options: SubscriptionBillingOptions) -> str:
        return options.watch_schedule

    def poll(self, run: RunContext) -> list[dict[str, Any]]:
        return new_invoices(run)


def new_invoices(run: RunContext) -> list[dict[str, Any]]:
    from channelsync.state import repository
    from channelsync.templates.subscription_billing import sources

    assert isinstance(run.options, SubscriptionBillingOptions)
    # key → the period end of the invoice (what was announced, and how recent)
    announced = {key: fingerprint for key, _psa, fingerprint in repository.load_xref(
        run.state_url, integration=run.integration.name, entity_type=ENTITY)}
    found: list[dict[str, Any]] = []
    for account in sources.accounts(run, run.options):
        invoices = sorted(sources.invoices_to_bill_all(run, account), key=lambda i: (i.period_end, i.invoice_id))
        prefix = f"{account.distributor}:{account.account}:"
        seen = [end for key, end in announced.items() if key.startswith(prefix)]
        if not seen:
            fresh = sources.latest_period(invoices)  # first look at this account: its latest, not its history
        else:  # after that, what is new since — a late statement of the same period included
            fresh = [i for i in invoices if f"{prefix}{i.invoice_id}" not in announced
                     and i.period_end.isoformat() >= max(seen)]
        found += [i.as_dict() for i in fresh]
    if found and not run.preview:
        repository.save_xrefs(run.state_url, integration=run.integration.name, xrefs=[
            {"psa_system": run.integration.psa.system, "entity_type": ENTITY,
             "source_key": f"{i['distributor']}:{i['account']}:{i['invoice_id']}",
             "psa_id": f"{i['distributor']}:{i['account']}:{i['invoice_id']}",  # no PSA record: itself
             "fingerprint": str(i["period_end"])} for i in found])
    log.info("watcher: %d new invoice(s): %s", len(found),
             ", ".join(f"{i['account']}/{i['invoice_id']}" for i in found) or "none")
    return found
