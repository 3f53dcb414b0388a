"""price_availability: live TD SYNNEX P&A → cost and price of the PSA products in use, through the shared
run shape (extract → validate → reconcile → load → report).

Which SKUs (``options.source``):
- ``linked``: every product catalog_sync linked (this integration's product xref, ``tdsynnex:<SKU>``);
- ``list``: only ``options.skus``;
- ``in_use``: linked products on open purchase orders (the adapters' ``in_use_product_ids``), plus
  ``options.skus``. Open quotes / opportunities are not read yet.

Stock: P&A quantities, incoming quantities and ETAs are kept in the extract and the staged plan (for
reports), but not written: neither PSA adapter reads or writes inventory yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from channelsync.adapters.psa_products import product_adapter
from channelsync.canonical import PNA_ROW, conform
from channelsync.errors import ChannelsyncError, define
from channelsync.reconcile.price_availability import PnaPlan
from channelsync.runs import outcomes
from channelsync.runs.steps import ItemOutcome, LoadSummary, PlanSummary
from channelsync.runs.template import TemplateBase
from channelsync.templates.price_availability.options import PriceAvailabilityOptions
from channelsync.templates.price_availability.planning import pna_options

if TYPE_CHECKING:
    from channelsync.clients.tdsynnex.xmlmodels import PnaResult
    from channelsync.quality.suite import Suite
    from channelsync.runs.context import RunContext

ENTITY = "product"
SOURCE_PREFIX = "tdsynnex:"
PNA_INCOMPLETE = define("PNA_INCOMPLETE", "tdsynnex", "P&A answered fewer lines than SKUs were asked for")


class PnaIncomplete(ChannelsyncError):
    code = PNA_INCOMPLETE


def wanted_skus(run: RunContext, xref: pd.DataFrame) -> list[str]:
    """The TD SYNNEX SKUs this run asks P&A for (distinct, sorted)."""
    options = cast(PriceAvailabilityOptions, run.options)
    linked = xref[xref["source_key"].str.startswith(SOURCE_PREFIX)]
    if options.source == "list":
        skus = list(options.skus)
    elif options.source == "in_use":
        # Both product adapters offer in_use_product_ids (not part of the shared adapter protocol).
        adapter: Any = product_adapter(run.integration.psa.system, run.psa_client())
        in_use = adapter.in_use_product_ids()
        on_orders = linked[linked["psa_id"].isin(sorted(in_use))]
        skus = [key[len(SOURCE_PREFIX):] for key in on_orders["source_key"]] + list(options.skus)
    else:
        skus = [key[len(SOURCE_PREFIX):] for key in linked["source_key"]]
    return sorted({str(s).strip() for s in skus if str(s).strip()})


def pna_frame(results: list[PnaResult], *, currency: str) -> pd.DataFrame:
    """P&A results as the canonical PNA_ROW table (one row per requested SKU)."""
    rows: list[dict[str, Any]] = []
    for result in results:
        sku = result.requested or result.synnex_sku
        on_order = [w.on_order_quantity for w in result.warehouses if w.on_order_quantity]
        etas = sorted(w.estimated_arrival for w in result.warehouses if w.estimated_arrival)
        active = result.status == "Active"
        rows.append({
            "source_key": f"{SOURCE_PREFIX}{sku}",
            "sku": sku,
            "mpn": result.mfg_pn or None,
            "description": result.description or None,
            "status": result.status or None,
            "cost": float(result.price) if active and result.price is not None else None,
            "currency": currency,
            "quantity_available": result.total_quantity if active else None,
            "on_order": sum(on_order) if active else None,
            "eta": f"{etas[0][:4]}-{etas[0][4:6]}-{etas[0][6:8]}" if etas and len(etas[0]) == 8 else None,
        })
    return conform(pd.DataFrame(rows, columns=list(PNA_ROW)), PNA_ROW, name="TD SYNNEX P&A")


class PriceAvailabilitySteps(TemplateBase[PriceAvailabilityOptions]):
    entity_type = ENTITY
    tenant_scoped_ops = frozenset()  # cost / price updates only: each run re-plans them

    def extract(self, run: RunContext) -> pd.DataFrame:
        skus = wanted_skus(run, self.xref(run))
        planner = self._planner(run, refresh=True)
        if not skus:
            return pna_frame([], currency=planner.source_currency)
        client = run.tdsynnex_client()
        results = client.price_availability(skus=skus)  # batched by the client (50 lines per request)
        answered = {r.requested for r in results}
        missing = [s for s in skus if s not in answered]
        if missing:
            raise PnaIncomplete(f"P&A did not answer {len(missing)} of {len(skus)} SKUs (e.g. {missing[:5]})")
        return pna_frame(results, currency=planner.source_currency)

    def suite(self, run: RunContext) -> Suite:
        from channelsync.quality.price_availability import pna_suite
        from channelsync.templates.price_availability.planning import effective_pricing

        _, currency = effective_pricing(self.options(run), run.integration)
        convertible = [c for c in currency.accepted if c == currency.target or c in currency.rates]
        return pna_suite(accepted_currencies=convertible or [currency.target])

    def plan(self, run: RunContext, valid: pd.DataFrame) -> PlanSummary:
        from channelsync.reconcile.price_availability import build_pna_plan

        adapter = product_adapter(run.integration.psa.system, run.psa_client())
        plan = build_pna_plan(valid, adapter.read_products(), self.xref(run), self._planner(run))
        conflicts = plan.conflicts()
        items = self.plan_items(conflicts, outcome=outcomes.CONFLICT.name, error_code=conflicts["error_code"],
                                reason=conflicts["reason"])
        return PlanSummary(plan_path=self.stage_plan(run, plan.frame), counts=plan.counts, diff=plan.diff_rows(),
                           items=items)

    def _planner(self, run: RunContext, *, refresh: bool = False) -> Any:
        """The planner's options, with catalog_sync's effective category map (file + state store), read by
        the extract and staged for the reconcile (``channelsync.effective_maps``)."""
        from channelsync.effective_maps import for_run
        from channelsync.state.option_maps import CATEGORIES
        from channelsync.templates.price_availability.planning import catalog_sync_options

        catalog = catalog_sync_options(run.integration)
        category_map = for_run(run, CATEGORIES, catalog.category_map, refresh=refresh) if catalog is not None else {}
        return pna_options(self.options(run), run.integration, category_map=category_map)

    def apply(self, run: RunContext, plan_path: str) -> LoadSummary:
        plan = PnaPlan(frame=self.read_plan(plan_path))
        adapter = product_adapter(run.integration.psa.system, run.psa_client())
        operations = [
            self.operation(key=str(row.idempotency_key), op="update", source_key=str(row.source_key),
                           target_id=str(row.psa_id), changed_fields=row.changed_fields,
                           fields={"unit_cost": float(row.desired_unit_cost),
                                   "unit_price": float(row.desired_unit_price)},
                           fingerprint=str(row.fingerprint))
            for row in plan.updates().itertuples()
        ]
        summary = self.load(run, operations, adapter)
        # Flagged items are recorded by the load stage (it owns the "flagged" outcome): never written.
        summary.outcomes.extend(
            ItemOutcome(str(row.source_key), outcomes.FLAGGED.name, None if pd.isna(row.psa_id) else str(row.psa_id),
                        error_code=str(row.error_code), error_message=str(row.reason))
            for row in plan.flagged().itertuples()
        )
        summary.details["unchanged"] = int((plan.frame["op"] == "unchanged").sum())
        return summary
