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
    from airflow.sdk import ObjectStoragePath

    from channelsync.adapters.csp_billing import CspAccount, InvoiceRef
    from channelsync.runs.context import RunContext
    from channelsync.templates.subscription_billing.options import SubscriptionBillingOptions

USAGE_FILE = "usage_skus.json"
# Rows per Parquet row group of the staged lines: a customer's task reads the groups holding its lines
# (Parquet keeps each group's min / max customer key), a few thousand rows instead of the whole invoice.
LINES_ROW_GROUP = 2_500
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


def stage_lines(path: ObjectStoragePath, valid: pd.DataFrame) -> str:
    """Stage the valid lines for the customers' load tasks: ordered by customer (a stable sort, so each
    customer's lines keep their order) in row groups of :data:`LINES_ROW_GROUP`, so that a task reading one
    customer (:func:`staged_rows`) decodes the row groups holding it, not the whole invoice. Returns the URL."""
    ordered = valid.sort_values("customer_key", kind="stable") if "customer_key" in valid else valid
    with path.open("wb") as sink:
        ordered.to_parquet(sink, index=False, row_group_size=LINES_ROW_GROUP)
    return str(path)


def staged_rows(url: str, column: str, values: list[str] | None) -> pd.DataFrame:
    """The rows of a staged Parquet file whose ``column`` is one of ``values`` (None: every row): the lines
    :func:`stage_lines` wrote, or the plan's row of one partition. Parquet skips the row groups whose
    min / max rule them out and Arrow drops the other rows before pandas sees them (``runs/staged_rows``)."""
    from channelsync.runs.staged_rows import read_where

    return read_where(url, column, values).to_pandas()


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
    known: set[str] = set(service_overrides(run, options, refresh=True))
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


def contract_and_units(adapter: Any, company_id: str, contract_id: str
                       ) -> tuple[Contract | None, list[dict[str, Any]]]:
    """The mapped contract (:func:`contract`) and its units, read at the same time: two entities, two of the
    calls the load task may have in flight, so a customer's reads cost one round trip, not two. The units
    are read by the mapped id, which is the found contract's; when no contract is found under it they are
    dropped (a failed read with them) and the customer has no units, as before reading them at once."""
    from channelsync.clients.call_tally import ContextThreadPool

    with ContextThreadPool(max_workers=1, thread_name_prefix="billing-units") as pool:
        pending = pool.submit(adapter.read_units, [contract_id])
        try:
            found = contract(adapter, company_id, contract_id)
        finally:
            failure = pending.exception()  # waits: the units read never outlives this call
    if found is None:
        return None, []
    if failure is not None:
        raise failure
    return found, [dict(r) for r in pending.result().to_dict("records")]


def services(run: RunContext, options: SubscriptionBillingOptions) -> dict[str, Service]:
    """SKU → PSA service: ``PC_`` + SKU as service_catalog_sync names them, or the override
    (:func:`service_overrides`).
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
    for sku, name in service_overrides(run, options).items():
        if name in by_name:
            result[sku] = by_name[name]
    return result


def service_overrides(run: RunContext, options: SubscriptionBillingOptions, *, refresh: bool = False
                      ) -> dict[str, str]:
    """SKU → PSA service name: the file's ``service_overrides`` overlaid by the state store's
    (``channelsync.effective_maps``), read by the extract and staged for the later stages and tasks."""
    from channelsync.effective_maps import for_run
    from channelsync.state.option_maps import SERVICES

    return for_run(run, SERVICES, options.service_overrides, refresh=refresh)


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
    """Per PSA service id, the stretches channelsync last posted for ``customer`` (its xref).

    Only this customer's rows are read (a prefix match in the state store): reading every customer's rows
    in every customer's task made a 1,000-customer run read 25,000 rows a customer."""
    from sqlalchemy import select

    from channelsync.state.db import session_scope
    from channelsync.state.models import CrossReference

    prefix = f"{customer}|"
    with session_scope(run.state_url) as session:
        wanted = [CrossReference.integration == run.integration.name, CrossReference.entity_type == entity,
                  CrossReference.source_key.startswith(prefix, autoescape=True)]
        if session.get_bind().dialect.name == "sqlite":
            # SQLite's LIKE cannot use the (integration, entity_type, source_key) index: it scanned every
            # customer's rows. Its keys compare as bytes (UTF-8: code point order), so the keys starting
            # with the prefix are exactly the range [prefix, prefix with its last character + 1).
            wanted += [CrossReference.source_key >= prefix, CrossReference.source_key < f"{customer}}}"]
        rows = session.execute(select(CrossReference.source_key, CrossReference.fingerprint).where(*wanted)).all()
    # SQLite's LIKE ignores case: the exact prefix is checked here.
    return {source_key.removeprefix(prefix): fingerprint for source_key, fingerprint in rows
            if source_key.startswith(prefix)}
