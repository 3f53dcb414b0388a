"""Turning service_catalog_sync's options into the planner's, the suite's and the PSA adapter's (one place, so
they agree), and the run's price-change report and alert."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from channelsync.adapters.psa_services import PsaServiceAdapter, ServiceSettings, service_adapter, vendor_label
from channelsync.errors import ConfigError, define
from channelsync.quality.services import ServiceSuiteOptions
from channelsync.reconcile.services import SERVICE_LIMITS_BY_PSA, ServicePlanOptions
from channelsync.templates.service_catalog_sync.options import ServiceCatalogSyncOptions

if TYPE_CHECKING:
    import pandas as pd

    from channelsync.runs.context import RunContext

log = logging.getLogger(__name__)

SERVICE_PRICES_CHANGED = define("SERVICE_PRICES_CHANGED", "channelsync",
                                "service_catalog_sync changed the cost or price of PSA services (see the report)")


def check_psa(options: ServiceCatalogSyncOptions, psa_system: str) -> None:
    """The configuration check again, for options that reach a run another way (run-time overrides)."""
    from channelsync.templates.catalog_sync.options import OptionConflict

    try:
        options.check_for_psa(psa_system)
    except OptionConflict as exc:
        raise ConfigError(f"service_catalog_sync option {exc.option}: {exc}") from None


def plan_options(options: ServiceCatalogSyncOptions, psa_system: str) -> ServicePlanOptions:
    return ServicePlanOptions(key_prefix="service", limits=SERVICE_LIMITS_BY_PSA[psa_system],
                              vendor=vendor_label(options.vendor_company),
                              max_recreate_share=options.max_recreate_share)


def suite_options(options: ServiceCatalogSyncOptions, psa_system: str) -> ServiceSuiteOptions:
    return ServiceSuiteOptions.create(currencies=options.accepted_currencies,
                                      name_max=SERVICE_LIMITS_BY_PSA[psa_system].name,
                                      require_rows=options.mode == "all")


def adapter_for(run: RunContext) -> PsaServiceAdapter:
    options = run.options
    assert isinstance(options, ServiceCatalogSyncOptions)
    psa_system = run.integration.psa.system
    check_psa(options, psa_system)
    settings = ServiceSettings(billing_code=options.billing_code, vendor_company=options.vendor_company,
                               subcategory=options.subcategory)
    return service_adapter(psa_system, run.psa_client(), settings)


def price_alert(run: RunContext, report: pd.DataFrame, report_url: str) -> None:
    """One alert row per run that changed prices (the operations work sends it to the integration's alert
    e-mails, as it does for failures): how many services, the biggest price moves, where the report is."""
    from channelsync.state.db import session_scope
    from channelsync.state.models import AlertLog

    options = run.options
    assert isinstance(options, ServiceCatalogSyncOptions)
    if not options.price_change_alert or report.empty:
        return
    moves = (report["new_price"] - report["old_price"]).abs().fillna(0)
    top = report.loc[moves.sort_values(ascending=False).index[:3]]
    shown = ", ".join(f"{row.service}: {row.old_price:g} → {row.new_price:g}" for row in top.itertuples())
    below = int((report["new_margin"] < 0).sum())
    subject = (f"[channelsync] {run.integration.name} {run.template}: {len(report)} service price change(s)"
               + (f", {below} selling below cost" if below else "") + f" ({shown}); report {report_url}")
    with session_scope(run.state_url) as session:
        session.add(AlertLog(integration=run.integration.name, template=run.template, run_id=run.run_id,
                             error_code=SERVICE_PRICES_CHANGED, severity="warning" if below else "info",
                             recipients=list(run.integration.alerts.emails), subject=subject[:300], status="logged"))
    log.info("%s", subject)


def details(report: pd.DataFrame, report_url: str, *, limit: int = 20) -> dict[str, Any]:
    """The price-change report as LoadSummary details: where it is, how many, the first rows."""
    rows = report.head(limit).astype(object).where(report.head(limit).notna(), None).to_dict("records")
    return {"price_changes": {"count": len(report), "report": report_url, "rows": rows}}
