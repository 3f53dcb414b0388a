"""What subscription_billing reads, and from where: the distributor accounts and their invoices, the
customer mappings and the price list (extract), the PSA's services, contracts and units (load).

Kept apart from ``steps.py`` so the stages read as the run shape and this file as the I/O."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from channelsync.canonical import empty
from channelsync.canonical.billing import INVOICE_LINE, SERVICE_NAME_PREFIX
from channelsync.templates.subscription_billing.planning import Contract, Service

if TYPE_CHECKING:
    from channelsync.adapters.csp_billing import CspAccount, InvoiceRef
    from channelsync.runs.context import RunContext
    from channelsync.templates.subscription_billing.options import SubscriptionBillingOptions

USAGE_FILE = "usage_skus.json"
JOINED_COLUMNS = ("customer_key", "psa_company_id", "psa_contract_id", "sync_enabled", "mapping_count",
                  "known_product", "period_start", "period_end", "usage_product")


def accounts(run: RunContext, options: SubscriptionBillingOptions) -> list[CspAccount]:
    from channelsync.adapters.csp_billing import accounts_from_options

    # The run's clients: one per connection per task, so API calls are counted with the stage.
    configured = [{"distributor": a.distributor, "conn_id": a.conn_id, "account": a.account}
                  for a in options.accounts]
    return accounts_from_options(run.integration, configured or None, clients=run.client)


def requested_invoices(run: RunContext) -> set[str]:
    """Invoice ids this run was asked to bill: the manual ``invoice_id`` param, or the watcher's events."""
    wanted = {str(i).strip() for i in str(run.params.get("invoice_id") or "").split(",") if str(i).strip()}
    for event in run.trigger_events:
        for invoice in event.get("invoices") or []:
            wanted.add(str(invoice["invoice_id"]))
    return wanted


def invoices_to_bill_all(run: RunContext, account: CspAccount) -> list[InvoiceRef]:
    from channelsync.adapters.csp_billing import list_invoices

    return list_invoices(account)


def invoices_to_bill(run: RunContext, account: CspAccount, wanted: set[str]) -> list[InvoiceRef]:
    found = invoices_to_bill_all(run, account)
    if wanted:
        return [i for i in found if i.invoice_id in wanted]
    return latest_period(found)


def latest_period(found: list[InvoiceRef]) -> list[InvoiceRef]:
    """Every invoice of the newest billing period (Crayon issues one statement per provision type: seats,
    usage, one-time)."""
    if not found:
        return []
    newest = max(i.period_end for i in found)
    return sorted((i for i in found if i.period_end == newest), key=lambda i: i.invoice_id)


def lines(run: RunContext, account: CspAccount, invoice: InvoiceRef) -> pd.DataFrame:
    from channelsync.adapters.csp_billing import invoice_lines

    frame = invoice_lines(account, invoice.invoice_id)
    frame = frame.copy()
    frame["period_start"] = invoice.period_start.isoformat()
    frame["period_end"] = invoice.period_end.isoformat()
    return frame


def empty_lines() -> pd.DataFrame:
    frame = empty(INVOICE_LINE)
    frame["period_start"] = pd.Series(dtype="string")
    frame["period_end"] = pd.Series(dtype="string")
    return frame


def join_state(run: RunContext, frame: pd.DataFrame, billed: list[CspAccount],
               options: SubscriptionBillingOptions) -> pd.DataFrame:
    """Add the customer's mapping (company, contract, switch, how many mappings) and whether the price
    list knows the product, so the suite can quarantine what cannot be posted."""
    from channelsync.adapters.csp_billing import price_list
    from channelsync.state.mappings import load_mappings

    data = frame.copy()
    data["customer_key"] = (data["distributor"].astype(str) + ":" + data["account"].astype(str) + ":"
                            + data["customer_id"].astype(str))
    mappings = load_mappings(run.state_url, run.integration.name)
    if len(mappings):
        mappings = mappings.assign(customer_key=mappings["distributor"].astype(str) + ":"
                                   + mappings["account"].astype(str) + ":" + mappings["customer_id"].astype(str))
        counts = mappings.groupby("customer_key").size().rename("mapping_count")
        first = mappings.drop_duplicates("customer_key").set_index("customer_key")
        data = data.join(first[["psa_company_id", "psa_contract_id", "sync_enabled"]], on="customer_key")
        data = data.join(counts, on="customer_key")
    else:
        data["psa_company_id"] = data["psa_contract_id"] = None
        data["sync_enabled"] = None
        data["mapping_count"] = 0
    data["mapping_count"] = data["mapping_count"].fillna(0).astype("int64")
    targets = _targets_elsewhere(run)
    if len(targets):
        data["mapping_count"] = data[["mapping_count"]].join(targets, on=data["customer_key"]).max(axis=1)
        data["mapping_count"] = data["mapping_count"].fillna(0).astype("int64")
    known: set[str] = set(options.service_overrides)
    usage: set[str] = set()
    for account in billed:
        products = price_list(account)
        known |= set(products["sku"].dropna().astype(str))
        usage |= set(products.loc[products["usage"].fillna(False).astype(bool), "sku"].dropna().astype(str))
    data["known_product"] = data["sku"].astype(str).isin(known)
    data["usage_product"] = data["sku"].astype(str).isin(usage) | (data["charge_type"] == "usage")
    write_json(run.staging / USAGE_FILE, sorted(usage))
    for column in ("psa_company_id", "psa_contract_id"):
        data[column] = data[column].astype("string")
    data["sync_enabled"] = data["sync_enabled"].astype("boolean")
    return data


def _targets_elsewhere(run: RunContext) -> pd.Series:
    """Per customer key, how many different PSA contracts the integrations on this run's PSA tenant map it
    to, where they disagree (one integration cannot map a customer twice; two integrations can, and then
    nobody knows which contract the lines belong to)."""
    from channelsync.state.mappings import conflicting_mappings

    conflicts = conflicting_mappings(run.state_url, psa_tenant=run.psa_target().tenant)
    if not len(conflicts):
        return pd.Series(dtype="int64", name="targets")
    disputed = conflicts[~conflicts["same_target"].astype(bool)]
    keys = disputed["distributor"].astype(str) + ":" + disputed["account"].astype(str) + ":" \
        + disputed["customer_id"].astype(str)
    counted = disputed.assign(customer_key=keys).drop_duplicates(["customer_key", "psa_company_id", "psa_contract_id"])
    return counted.groupby("customer_key").size().rename("targets")


def contract(adapter: Any, company_id: str, contract_id: str) -> Contract | None:
    for found in adapter.read_contracts([company_id]):
        if str(found.psa_id) == contract_id:
            return Contract(psa_id=str(found.psa_id), start=found.start, end=found.end,
                            recurring=bool(found.recurring), active=bool(found.active),
                            kind=getattr(found, "type_name", None))
    return None


def units(adapter: Any, found: Contract | None) -> list[dict[str, Any]]:
    if found is None:
        return []
    frame = adapter.read_units([found.psa_id])
    return [dict(r) for r in frame.to_dict("records")]


def services(run: RunContext, options: SubscriptionBillingOptions) -> dict[str, Service]:
    """SKU → PSA service: ``PC_`` + SKU as service_catalog_sync names them, or the configured override.
    Read once in reconcile and staged; a customer task reads again only when it needs a SKU the staged
    map lacks (service_catalog_sync may have made it since, before on-call cleared the task)."""
    from channelsync.adapters.psa_services import ServiceSettings, service_adapter

    # Reading needs no settings (they matter to service_catalog_sync's writes only).
    adapter = service_adapter(run.integration.psa.system, run.psa_client(), ServiceSettings(billing_code=None))
    from channelsync.state import repository

    frame = adapter.read_services()
    found = [Service(str(r.psa_id), str(r.name), "Monthly" if pd.isna(r.period) else str(r.period))
             for r in frame.itertuples(index=False)]
    by_name = {service.name: service for service in found}
    by_id = {service.psa_id: service for service in found}
    prefix = options.service_name_prefix or SERVICE_NAME_PREFIX
    result = {name.removeprefix(prefix): service for name, service in by_name.items() if name.startswith(prefix)}
    # The services service_catalog_sync made are found by its cross-reference too, so one a person renamed
    # (which that template keeps) is still billed.
    for source_key, psa_id, _fingerprint in repository.load_xref(run.state_url, integration=run.integration.name,
                                                                 entity_type="service"):
        sku = source_key.split(":", 1)[1] if ":" in source_key else source_key
        if psa_id in by_id:
            result[sku] = by_id[psa_id]
    for sku, name in options.service_overrides.items():
        if name in by_name:
            result[sku] = by_name[name]
    return result


def period(lines: pd.DataFrame) -> tuple[date, date]:
    return (date.fromisoformat(str(lines["period_start"].min())[:10]),
            date.fromisoformat(str(lines["period_end"].max())[:10]))


def services_to_json(found: dict[str, Service]) -> str:
    return json.dumps({sku: [s.psa_id, s.name, s.period] for sku, s in sorted(found.items())})


def services_from_json(text: str) -> dict[str, Service]:
    return {sku: Service(*values) for sku, values in json.loads(text).items()}


def usage_skus(run: RunContext) -> set[str]:
    """The price lists' usage products (written by extract): a usage service on a contract with no line
    this month is zeroed (``zero_usage_without_lines``)."""
    path = run.staging / USAGE_FILE
    return set(json.loads(path.read_text())) if path.exists() else set()


def write_json(path: Any, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def left_behind(run: RunContext, customer: str, entity: str) -> dict[str, str]:
    """Per PSA service id, the stretches channelsync last posted for ``customer`` (its xref)."""
    from channelsync.state import repository

    prefix = f"{customer}|"
    return {source_key.removeprefix(prefix): fingerprint
            for source_key, _psa, fingerprint in repository.load_xref(run.state_url, integration=run.integration.name,
                                                                      entity_type=entity)
            if source_key.startswith(prefix)}
