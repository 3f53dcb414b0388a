"""A test-only template for the approval gates: re-prices lines of an in-memory target.

The lines in ``changed`` are planned as ``update`` (written: appended to ``$POSTING_LOG``), the others as
``unchanged``, so the plan's changed share — what catalog-like templates are measured by — is set by the
options. Registered with that measure, as a plugin's template would be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from channelsync.quality.suite import Suite
from channelsync.runs import outcomes
from channelsync.runs.approval_config import MEASURES
from channelsync.runs.steps import LoadSummary, PlanSummary
from channelsync.runs.template import TemplateBase
from channelsync.state.ledger import Target
from channelsync.templates.options_common import TemplateOptions
from channelsync.templates.registry import TemplateSpec, register
from tests.dags.posting_template import MemoryTarget, amounts_frame, amounts_suite

if TYPE_CHECKING:
    from channelsync.runs.context import RunContext


class RepriceOptions(TemplateOptions):
    amounts: dict[str, float] = {"line-1": 10.0, "line-2": 20.0, "line-3": 30.0, "line-4": 40.0}
    changed: list[str] = ["line-1"]  # planned as updates; the other lines are unchanged


class RepriceSteps(TemplateBase[RepriceOptions]):
    entity_type = "posting"
    op_outcomes = {"update": outcomes.UPDATED.name}

    def target(self, run: RunContext) -> Target:
        return Target("memory", "ledger-1")

    def extract(self, run: RunContext) -> pd.DataFrame:
        return amounts_frame(self.options(run).amounts)

    def suite(self, run: RunContext) -> Suite:
        return amounts_suite("reprice")

    def plan(self, run: RunContext, valid: pd.DataFrame) -> PlanSummary:
        changed = set(self.options(run).changed)
        frame = valid.assign(op=valid["source_key"].map(lambda key: "update" if key in changed else "unchanged"))
        frame = frame.assign(key="update:" + frame["source_key"])
        updates = frame[frame["op"] == "update"]
        diff = pd.DataFrame({"source_key": updates["source_key"], "op": "update", "field": "amount",
                             "before": None, "after": updates["amount"].astype(str)})
        counts = {str(op): int(n) for op, n in frame["op"].value_counts().items()}
        return PlanSummary(plan_path=self.stage_plan(run, frame), counts=counts, diff=diff)

    def apply(self, run: RunContext, plan_path: str, partition: str | None = None) -> LoadSummary:
        plan = self.read_plan(plan_path)
        operations = [self.operation(key=row.key, op="update", source_key=row.source_key, target_id=None,
                                     fields={"amount": row.amount})
                      for row in plan[plan["op"] == "update"].itertuples()]
        return self.load(run, operations, MemoryTarget())


SPEC = register(TemplateSpec(
    name="test_reprice", summary="test-only: re-price lines (approval gates)", default_schedule="@daily",
    steps="tests.dags.approval_template:RepriceSteps", options_model=RepriceOptions, distributors=(),
))
MEASURES.setdefault(SPEC.name, ("changed_share",))
