"""catalog_sync: TD SYNNEX daily catalog (selected categories) → PSA products, through the shared run shape."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from channelsync.adapters.tdsynnex_catalog import extract_flat_file
from channelsync.errors import define
from channelsync.runs.steps import LoadSummary, PlanSummary
from channelsync.runs.template import TemplateBase
from channelsync.templates.catalog_sync.options import CatalogSyncOptions
from channelsync.templates.catalog_sync.planning import catalog_adapter, catalog_options, suite_options

if TYPE_CHECKING:
    from channelsync.quality.suite import Suite
    from channelsync.reconcile.plan import CatalogPlan
    from channelsync.runs.context import RunContext

ENTITY = "product"


class CatalogSyncSteps(TemplateBase[CatalogSyncOptions]):
    entity_type = ENTITY

    def extract(self, run: RunContext) -> pd.DataFrame:
        options = self.options(run)
        client = run.tdsynnex_client("tdsynnex_flatfile")
        return extract_flat_file(client, run.scratch, categories=self.category_map(run, refresh=True).keys(),
                                 currency=options.source_currency, price_flagged=options.price_flagged_skus)

    def suite(self, run: RunContext) -> Suite:
        from channelsync.quality.catalog import catalog_suite

        return catalog_suite(suite_options(self.options(run), self._planner(run)))

    def plan(self, run: RunContext, valid: pd.DataFrame) -> PlanSummary:
        from channelsync.reconcile.arrow import use_system_memory_pool
        from channelsync.reconcile.catalog import build_catalog_plan

        use_system_memory_pool()
        psa_products = catalog_adapter(self.options(run), run.integration.psa.system, run.psa_client()).read_products()
        plan = build_catalog_plan(valid, psa_products, self.xref(run), self._planner(run),
                                  held=self.quarantined_keys(run))
        frame = plan.frame.copy()
        frame["fingerprint"] = plan.fingerprints()
        frame["changed_fields"] = frame["changed_fields"].map(lambda v: list(v) if isinstance(v, tuple | list) else [])
        reported = plan.frame[plan.frame["op"].isin(["conflict", "duplicate"])]
        items = self.plan_items(reported, outcome=reported["op"], reason=reported["reason"],
                                error_code=reported["op"].map({"conflict": CATALOG_CONFLICT,
                                                               "duplicate": CATALOG_DUPLICATE}))
        return PlanSummary(plan_path=self.stage_plan(run, frame), counts=plan.counts, diff=plan.diff_rows(limit=None),
                           items=items)

    def apply(self, run: RunContext, plan_path: str) -> LoadSummary:
        plan = self._read_plan(plan_path, self._planner(run))
        adapter = catalog_adapter(self.options(run), run.integration.psa.system, run.psa_client())
        # Hand-made products that already match are linked without a write.
        linked = self.link_existing(run, plan.xref_only().itertuples(), psa_system=adapter.psa_system)
        operations = list(plan.operations(tenant_scoped=self.tenant_scoped_ops))
        summary = self.load(run, operations, adapter)
        summary.details["linked_without_write"] = linked
        return summary

    def category_map(self, run: RunContext, *, refresh: bool = False) -> dict[str, str]:
        """The effective category map: the file's ``category_map`` overlaid by the state store's category
        mappings (``channelsync.effective_maps``), read by the extract and staged for the later stages."""
        from channelsync.effective_maps import for_run
        from channelsync.state.option_maps import CATEGORIES

        return for_run(run, CATEGORIES, self.options(run).category_map, refresh=refresh)

    def _planner(self, run: RunContext) -> Any:
        return catalog_options(self.options(run), psa_system=run.integration.psa.system,
                               category_map=self.category_map(run))

    def _read_plan(self, plan_path: str, planner: Any) -> CatalogPlan:
        from channelsync.reconcile.plan import CatalogPlan

        frame = self.read_plan(plan_path)
        frame["changed_fields"] = frame["changed_fields"].map(lambda v: tuple(v) if v is not None else ())
        return CatalogPlan(frame=frame, fields=planner.fields, key_prefix=planner.key_prefix)


CATALOG_CONFLICT = define("CATALOG_CONFLICT", "channelsync",
                          "The product was changed in the PSA since channelsync last wrote it; not overwritten")
CATALOG_DUPLICATE = define("CATALOG_DUPLICATE", "channelsync",
                           "Several PSA products match one distributor item; none was linked")
