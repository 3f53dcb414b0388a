"""Two test-only templates whose real Airflow DAG runs the rerun tests clear through the plugin.

- ``test_rerun_mapped``: the load mapped over one partition per line (as billing maps one task per
  customer); the load of each of ``refuse`` records a failed item and fails, the others post.
- ``test_rerun_single``: one unmapped load that records a failed item for each of ``refuse`` and fails.

Both post through the real DAG builder, runner, ledger and state store (``tests/dags/posting_template``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from channelsync.runs import outcomes
from channelsync.runs.steps import ItemOutcome, LoadSummary
from channelsync.templates.registry import TemplateSpec, register
from tests.dags.posting_template import MappedPostingSteps, MemoryTarget, PostingOptions, PostingSteps

if TYPE_CHECKING:
    from channelsync.runs.context import RunContext

REFUSED = "TEST_CUSTOMER_REFUSED"
# A target's refusal as vendors word it: markup that must stay text on every page.
REFUSAL = "<b>refused</b> by the test target: <script>alert('rerun')</script>"


def _refused(key: str) -> LoadSummary:
    return LoadSummary(outcomes=[ItemOutcome(source_key=key, outcome=outcomes.FAILED.name, error_code=REFUSED,
                                             error_message=f"{key}: {REFUSAL}")],
                       failed=f"{key} refused (test)")


class RerunOptions(PostingOptions):
    refuse: list[str] = []  # the lines the target refuses


class FailingMappedSteps(MappedPostingSteps):
    def apply(self, run: RunContext, plan_path: str, partition: str | None = None) -> LoadSummary:
        if partition is not None and partition in self.options(run).refuse:  # type: ignore[attr-defined]
            return _refused(partition)
        return super().apply(run, plan_path, partition)


class FailingSingleSteps(PostingSteps):
    def apply(self, run: RunContext, plan_path: str, partition: str | None = None) -> LoadSummary:
        refuse = list(self.options(run).refuse)  # type: ignore[attr-defined]
        plan = self.read_plan(plan_path)
        operations = [self.operation(key=row.key, op="post", source_key=row.source_key, target_id=None,
                                     fields={"amount": row.amount})
                      for row in plan.itertuples() if row.source_key not in refuse]
        summary = self.load(run, operations, MemoryTarget())
        for key in refuse:
            refused = _refused(key)
            summary.outcomes += refused.outcomes
            summary.failed = refused.failed
        return summary


MAPPED = register(TemplateSpec(
    name="test_rerun_mapped", summary="test-only: one load task per line, one of them refused",
    default_schedule="@daily", steps="tests.plugin.rerun_template:FailingMappedSteps",
    options_model=RerunOptions, distributors=(), partitioned=True,
))
SINGLE = register(TemplateSpec(
    name="test_rerun_single", summary="test-only: one load task, one line refused",
    default_schedule="@daily", steps="tests.plugin.rerun_template:FailingSingleSteps",
    options_model=RerunOptions, distributors=(),
))

# The DAG file the plugin tests' Airflow parses and runs (``dag.test()``) before its API server starts.
DAG_FILE = '''
# An Airflow DAG file (the DagBag only reads files that say so): the rerun tests' DAGs.
import json
import os

from channelsync.config import IntegrationConfig, TemplateConfig
from channelsync.templates.dag_builder import build_dag
from tests.plugin.rerun_template import MAPPED, SINGLE

amounts = {"cust-a": 10.0, "cust-b": 20.0, "cust-c": 30.0, "cust-d": 40.0}
integration = IntegrationConfig(
    name="acme", psa={"system": "autotask", "conn_id": "unused"}, distributors={},
    templates={MAPPED.name: TemplateConfig(options={"amounts": amounts, "refuse": ["cust-b", "cust-d"]}),
               SINGLE.name: TemplateConfig(options={"amounts": amounts, "refuse": ["cust-b"]})})
mapped = build_dag(integration, MAPPED.name, integration.templates[MAPPED.name])
single = build_dag(integration, SINGLE.name, integration.templates[SINGLE.name])

if __name__ == "__main__":
    from channelsync.state.db import upgrade

    upgrade()
    runs = {dag.dag_id: dag.test(run_conf={"preview": False}) for dag in (mapped, single)}
    print(json.dumps({dag_id: [run.run_id, str(run.state)] for dag_id, run in runs.items()}))
'''
