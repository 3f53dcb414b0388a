"""service_catalog_sync: a CSP distributor's price list → PSA services, through the shared run shape.

- extract: the options that name something in the PSA are checked against it first (billing code, vendor, the
  ConnectWise subcategory: :class:`~channelsync.adapters.psa_services.ServiceConfigError`, one line listing the
  allowed values, before anything else is read); then the price list (``csp_source`` over
  ``adapters.csp_billing``), in mode ``in_use`` only the SKUs on the latest invoice and those already synced;
- validate: ``quality/services.service_suite``;
- reconcile: ``reconcile/services.build_service_plan`` on the PSA's services and the ``service``
  cross-reference; products that cannot be synced, duplicate names and descriptions cut on a create are items;
  the planned price changes are staged (``price_changes_planned.csv``);
- load: creates are tenant-scoped (never twice on a PSA, looked up by name when an answer was lost), price
  updates run-scoped; services already right but re-fingerprinted are linked without a write. The price-change
  report of what was applied is staged (``price_changes.csv``), put in the load's details and, when it is not
  empty, recorded as a price-change alert.

Other templates find the service of a distributor SKU through this integration's cross-reference (entity
``service``, source key ``<distributor>:<sku>``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from channelsync.reconcile.services import SERVICE_DUPLICATE, SERVICE_TEXT_TRUNCATED, SERVICE_UNSUPPORTED, ServicePlan
from channelsync.runs import outcomes
from channelsync.runs.steps import LoadSummary, PlanSummary
from channelsync.runs.template import TemplateBase
from channelsync.templates.service_catalog_sync.options import ServiceCatalogSyncOptions
from channelsync.templates.service_catalog_sync.planning import (
    adapter_for,
    details,
    plan_options,
    price_alert,
    suite_options,
)

if TYPE_CHECKING:
    from channelsync.quality.suite import Suite
    from channelsync.runs.context import RunContext

ENTITY = "service"
NOT_SYNCED = outcomes.declare("not_synced", stage="reconcile", kind="warning",
                              description="on the price list but not syncable as a PSA service (billing cycle, "
                                          "name length); never written")
TEXT_TRUNCATED = outcomes.declare("text_truncated", stage="reconcile", kind="warning",
                                  description="a description longer than the PSA allows was cut on the create")


class ServiceCatalogSyncSteps(TemplateBase[ServiceCatalogSyncOptions]):
    entity_type = ENTITY
    op_outcomes = {"create": outcomes.CREATED.name, "update": outcomes.UPDATED.name}
    tenant_scoped_ops = frozenset({"create"})

    def extract(self, run: RunContext) -> pd.DataFrame:
        from channelsync.reconcile.services import select_products
        from channelsync.templates.service_catalog_sync.csp_source import in_use_skus, read_price_list

        options = self.options(run)
        adapter_for(run).check_settings()  # a wrong billing code stops the run before anything is read
        if options.mode == "all":
            return read_price_list(run)
        # in_use: the SKUs on the latest invoice, and those already synced (they keep getting prices)
        linked = [str(key) for key in self.xref(run)["source_key"]]
        skus = in_use_skus(run, options.in_use_customers or None)
        wanted = skus | {key.split(":", 1)[1] for key in linked if ":" in key}
        products = read_price_list(run, part_numbers=wanted)
        return select_products(products, mode=options.mode, in_use_skus=skus, linked_keys=linked).reset_index(
            drop=True)

    def suite(self, run: RunContext) -> Suite:
        from channelsync.quality.services import service_suite

        return service_suite(suite_options(self.options(run), run.integration.psa.system))

    def plan(self, run: RunContext, valid: pd.DataFrame) -> PlanSummary:
        from channelsync.reconcile.services import build_service_plan
        from channelsync.runs.staging import write_csv

        psa_services = adapter_for(run).read_services()
        plan = build_service_plan(valid, psa_services, self.xref(run),
                                  plan_options(self.options(run), run.integration.psa.system))
        write_csv(run.staging / "price_changes_planned.csv", plan.price_changes())
        frame = plan.frame.copy()
        frame["changed_fields"] = frame["changed_fields"].map(list)
        return PlanSummary(plan_path=self.stage_plan(run, frame), counts=plan.counts, diff=plan.diff_rows(),
                           items=self._plan_items(plan))

    def _plan_items(self, plan: ServicePlan) -> pd.DataFrame:
        reported = plan.rows("skipped", "duplicate")
        cut = plan.truncations()
        return pd.concat([
            self.plan_items(reported, outcome=reported["op"].map({"skipped": NOT_SYNCED.name,
                                                                  "duplicate": outcomes.DUPLICATE.name}),
                            error_code=reported["op"].map({"skipped": SERVICE_UNSUPPORTED,
                                                           "duplicate": SERVICE_DUPLICATE}),
                            reason=reported["reason"]),
            self.plan_items(cut, outcome=TEXT_TRUNCATED.name, error_code=SERVICE_TEXT_TRUNCATED,
                            reason=cut["truncated"]),
        ], ignore_index=True)

    def apply(self, run: RunContext, plan_path: str) -> LoadSummary:
        from channelsync.runs.staging import write_csv

        frame = self.read_plan(plan_path)
        frame["changed_fields"] = frame["changed_fields"].map(lambda v: [] if v is None else [str(x) for x in v])
        plan = ServicePlan(frame=frame)
        adapter = adapter_for(run)
        linked = self.link_existing(run, plan.xref_only().itertuples(), psa_system=adapter.psa_system)
        summary = self.load(run, list(plan.operations(tenant_scoped=self.tenant_scoped_ops)), adapter)
        _note_kept(summary, plan)
        report = _applied(plan.price_changes(), summary)
        url = write_csv(run.staging / "price_changes.csv", report)
        applied = report[report["outcome"] == outcomes.UPDATED.name]
        summary.details.update(details(applied, url))
        summary.details["linked_without_write"] = linked
        price_alert(run, applied, url)
        return summary


def _applied(report: pd.DataFrame, summary: LoadSummary) -> pd.DataFrame:
    """The planned price changes with what became of each (updated, failed, deferred …)."""
    outcome_of = {item.source_key: item.outcome for item in summary.outcomes}
    return report.assign(outcome=report["source_key"].map(outcome_of).astype("string"))


def _note_kept(summary: LoadSummary, plan: ServicePlan) -> None:
    """Written services the PSA keeps as a person left them (inactive, renamed): said on their items."""
    reasons: dict[str, Any] = {str(row.source_key): row.reason for row in plan.rows("update").itertuples()
                               if isinstance(row.reason, str) and row.reason}
    for item in summary.outcomes:
        if item.outcome == outcomes.UPDATED.name and item.source_key in reasons:
            item.warnings.append(str(reasons[item.source_key]))
