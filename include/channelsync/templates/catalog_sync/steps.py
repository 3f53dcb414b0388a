"""catalog_sync: TD SYNNEX daily catalog (selected categories) → PSA products, through the shared run shape."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from channelsync.adapters.psa_products import product_adapter
from channelsync.adapters.tdsynnex_catalog import extract_flat_file
from channelsync.errors import define
from channelsync.runs.loader import Operation, apply_operations
from channelsync.runs.steps import LoadSummary, PlanSummary
from channelsync.state import repository
from channelsync.templates.catalog_sync.options import CatalogSyncOptions
from channelsync.templates.catalog_sync.planning import catalog_options, suite_options

if TYPE_CHECKING:
    from channelsync.quality.suite import Suite
    from channelsync.reconcile.plan import CatalogPlan
    from channelsync.runs.context import RunContext

ENTITY = "product"


def _options(run: RunContext) -> CatalogSyncOptions:
    return cast(CatalogSyncOptions, run.options)


class CatalogSyncSteps:
    entity_type = ENTITY

    def extract(self, run: RunContext) -> pd.DataFrame:
        options = _options(run)
        tdsynnex = run.integration.distributors["tdsynnex"]
        client = run.client("tdsynnex_flatfile", tdsynnex.xml_conn_id or tdsynnex.conn_id or "")
        return extract_flat_file(client, run.staging, categories=options.category_map.keys(),
                                 currency=options.source_currency, price_flagged=options.price_flagged_skus)

    def suite(self, run: RunContext) -> Suite:
        from channelsync.quality.catalog import catalog_suite

        planner = self._planner(run)
        return catalog_suite(suite_options(_options(run), planner))

    def plan(self, run: RunContext, valid: pd.DataFrame) -> PlanSummary:
        from channelsync.reconcile.catalog import build_catalog_plan

        assert run.run_id is not None
        adapter = product_adapter(run.integration.psa.system, run.psa_client())
        psa_products = adapter.read_products()
        xref = pd.DataFrame(
            repository.load_xref(run.state_url, integration=run.integration.name, entity_type=ENTITY),
            columns=["source_key", "psa_id", "fingerprint"], dtype="string",
        )
        held = repository.item_keys(run.state_url, run.run_id, outcome="quarantined")
        plan = build_catalog_plan(valid, psa_products, xref, self._planner(run), held=held)
        plan_path = run.staging / "plan.parquet"
        _stage_plan(plan, plan_path)
        return PlanSummary(plan_path=plan_path, counts=plan.counts, diff=plan.diff_rows(limit=None),
                           items=_reported_items(plan))

    def apply(self, run: RunContext, plan_path: Path) -> LoadSummary:
        from channelsync.state.repository import Ledger

        assert run.run_id is not None
        plan = _read_plan(plan_path, self._planner(run).fields)
        adapter = product_adapter(run.integration.psa.system, run.psa_client())
        ledger = Ledger(run.state_url, integration=run.integration.name, template=run.template)
        # Hand-made products that already match are linked without a write.
        ledger.link([{"psa_system": adapter.psa_system, "entity_type": ENTITY, "source_key": row.source_key,
                      "psa_id": row.psa_id, "fingerprint": row.fingerprint}
                     for row in plan.xref_only().itertuples()])
        operations = [
            Operation(key=str(op.idempotency_key), op=op.op, source_key=op.source_key, psa_id=op.psa_id,
                      fields=op.desired, changed_fields=list(op.changed_fields), fingerprint=str(op.fingerprint))
            for op in plan.operations()
        ]
        summary = apply_operations(operations, adapter, ledger, run_id=run.run_id,
                                   concurrency=_options(run).load.concurrency)
        summary.details["linked_without_write"] = len(plan.xref_only())
        return summary

    def _planner(self, run: RunContext) -> Any:
        return catalog_options(_options(run), integration=run.integration.name,
                               psa_system=run.integration.psa.system)


def _stage_plan(plan: CatalogPlan, path: Path) -> None:
    frame = plan.frame.copy()
    frame["fingerprint"] = plan.fingerprints()
    frame["changed_fields"] = frame["changed_fields"].map(lambda v: list(v) if isinstance(v, tuple | list) else [])
    frame.to_parquet(path, index=False)


def _read_plan(path: Path, fields: tuple[str, ...]) -> CatalogPlan:
    from channelsync.reconcile.plan import CatalogPlan

    frame = pd.read_parquet(path)
    frame["changed_fields"] = frame["changed_fields"].map(lambda v: tuple(v) if v is not None else ())
    return CatalogPlan(frame=frame, fields=fields)


def _reported_items(plan: CatalogPlan) -> pd.DataFrame:
    """Conflicts and duplicates: recorded as items at plan time, never written."""
    reported = plan.frame[plan.frame["op"].isin(["conflict", "duplicate"])]
    return pd.DataFrame({
        "entity_type": ENTITY,
        "source_key": reported["source_key"].astype(str),
        "psa_id": reported["psa_id"].astype("string").astype(object).where(reported["psa_id"].notna(), None),
        "outcome": reported["op"].astype(str),
        "error_code": reported["op"].map({"conflict": "CATALOG_CONFLICT", "duplicate": "CATALOG_DUPLICATE"}),
        "error_message": reported["reason"].astype("string").astype(object).where(reported["reason"].notna(), None),
        "changed_fields": reported["changed_fields"].map(lambda v: list(v) if v is not None else []),
    })


CATALOG_CONFLICT = define("CATALOG_CONFLICT", "channelsync",
                          "The product was changed in the PSA since channelsync last wrote it; not overwritten")
CATALOG_DUPLICATE = define("CATALOG_DUPLICATE", "channelsync",
                           "Several PSA products match one distributor item; none was linked")
