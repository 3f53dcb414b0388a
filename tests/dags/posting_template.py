"""A template defined only here, to prove the run shape needs no change for a new one.

It "posts" amounts to an in-memory target with its own outcome (``posted``), operation (``post``),
tenant scope and target — what a billing or order template does — through the real DAG builder.
Sent postings are appended to ``$POSTING_LOG`` so a test can count them across processes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pandas as pd

from channelsync.errors import ChannelsyncError
from channelsync.quality.suite import Expectation, Severity, Suite
from channelsync.runs import outcomes
from channelsync.runs.steps import LoadSummary, PlanSummary
from channelsync.runs.template import TemplateBase
from channelsync.state.ledger import Target
from channelsync.templates.options_common import TemplateOptions
from channelsync.templates.registry import TemplateSpec, register

if TYPE_CHECKING:
    from channelsync.runs.context import RunContext
    from channelsync.runs.loader import Operation

POSTED = outcomes.declare("posted", stage="load", kind="write", description="posted to the ledger target")


class PostingOptions(TemplateOptions):
    amounts: dict[str, float] = {"line-1": 10.0, "line-2": 20.0, "line-3": -5.0}
    fail_partition: str | None = None  # the mapped variant: this line's load task fails as a whole


class PartitionBroken(ChannelsyncError):
    code = "TEST_PARTITION_BROKEN"


class MemoryTarget:
    entity_type = "posting"
    records_xref = True
    psa_system = "memory"

    def execute(self, operation: Operation) -> str:
        with open(os.environ["POSTING_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{operation.source_key}\n")
        return f"posting-{operation.source_key}"

    def resolve_unknown(self, operation: Operation) -> str | None:
        return None


def amounts_frame(amounts: dict[str, float]) -> pd.DataFrame:
    """The test templates' source: one row per configured amount."""
    return pd.DataFrame({"source_key": list(amounts), "amount": list(amounts.values())})


def amounts_suite(name: str) -> Suite:
    """The test templates' suite: a negative amount is quarantined."""
    return Suite(name=name, key_column="source_key", expectations=(
        Expectation(name="amount not negative", severity=Severity.BLOCKING,
                    gx_type="ExpectColumnValuesToBeBetween", kwargs={"column": "amount", "min_value": 0},
                    reason="negative amount"),
    ))


class PostingSteps(TemplateBase[PostingOptions]):
    entity_type = "posting"
    op_outcomes = {"post": POSTED.name}
    tenant_scoped_ops = frozenset({"post"})

    def target(self, run: RunContext) -> Target:
        return Target("memory", "ledger-1")

    def extract(self, run: RunContext) -> pd.DataFrame:
        return amounts_frame(self.options(run).amounts)

    def suite(self, run: RunContext) -> Suite:
        return amounts_suite("postings")

    def plan(self, run: RunContext, valid: pd.DataFrame) -> PlanSummary:
        frame = valid.assign(op="post", key="post:" + valid["source_key"])
        diff = pd.DataFrame({"source_key": frame["source_key"], "op": "post", "field": "amount",
                             "before": None, "after": frame["amount"].astype(str)})
        return PlanSummary(plan_path=self.stage_plan(run, frame), counts={"post": len(frame)}, diff=diff)

    def apply(self, run: RunContext, plan_path: str, partition: str | None = None) -> LoadSummary:
        plan = self.read_plan(plan_path)
        if partition is not None:
            if partition == self.options(run).fail_partition:
                raise PartitionBroken(f"{partition}: refused as a whole (test)")
            plan = plan[plan["source_key"] == partition]
        operations = [self.operation(key=row.key, op="post", source_key=row.source_key, target_id=None,
                                     fields={"amount": row.amount}) for row in plan.itertuples()]
        return self.load(run, operations, MemoryTarget())


class MappedPostingSteps(PostingSteps):
    """The same, with the load mapped: one task instance per line."""

    def plan(self, run: RunContext, valid: pd.DataFrame) -> PlanSummary:
        summary = super().plan(run, valid)
        summary.partitions = sorted(valid["source_key"].astype(str))
        return summary


SPEC = register(TemplateSpec(
    name="test_posting", summary="test-only: post amounts once", default_schedule="@daily",
    steps="tests.dags.posting_template:PostingSteps", options_model=PostingOptions, distributors=(),
))
MAPPED_SPEC = register(TemplateSpec(
    name="test_posting_mapped", summary="test-only: post amounts once, one load task per line",
    default_schedule="@daily", steps="tests.dags.posting_template:MappedPostingSteps",
    options_model=PostingOptions, distributors=(), partitioned=True,
))
