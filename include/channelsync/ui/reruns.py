"""What a rerun clears in Airflow: pure rules, no I/O (the plugin asks Airflow's REST API for the facts
and sends the result to ``POST /api/v2/dags/{dag_id}/clearTaskInstances`` with the user's own token).

Every channelsync DAG has the same shape (``templates/dag_builder.py``): extract → validate → reconcile
→ load → report, where a partitioned template maps ``load`` over the list the ``partitions`` task
returns (one task instance per customer or order, map index = the position in that list), and
``report`` (trigger rule all_done) closes the run. So:

- one customer / order: its mapped ``load`` instance and ``report``;
- a run's failed items only: every failed mapped ``load`` instance and ``report``;
- a template without partitions, or a run that failed before its load was mapped: the first failed
  stage with everything downstream of it (report included).

Nothing else is touched: the customers that posted are not run again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from channelsync.ui.links import STAGES

PARTITIONS_TASK, LOAD_TASK, REPORT_TASK = "partitions", "load", "report"
FAILED = "failed"
NOTE_LIMIT = 1000  # Airflow's limit on a task instance note


class RerunRefused(Exception):
    """Nothing can be rerun this way (with the reason a person reads)."""


@dataclass(frozen=True)
class ClearPlan:
    """One clearTaskInstances request: which task instances, and why (shown to the person)."""

    task_ids: list[str | tuple[str, int]]
    include_downstream: bool
    what: str
    partitions: list[str] = field(default_factory=list)  # the partition keys of the mapped instances named

    def body(self, *, dag_run_id: str, note: str) -> dict[str, Any]:
        """The request body (ClearTaskInstancesBody): only this DAG run, whatever state the named instances
        are in (they were chosen), never a running one, and the DAG run queued again."""
        return {
            "dry_run": False,
            "dag_run_id": dag_run_id,
            "task_ids": [list(t) if isinstance(t, tuple) else t for t in self.task_ids],
            "only_failed": False,
            "only_running": False,
            "include_upstream": False,
            "include_downstream": self.include_downstream,
            "include_past": False,
            "include_future": False,
            "reset_dag_runs": True,
            "prevent_running_task": True,
            "note": note[:NOTE_LIMIT],
        }


def partition_list(value: Any) -> list[str]:
    """The ``partitions`` task's return value as Airflow's XCom API gives it (a JSON list, or its text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise RerunRefused("Airflow's record of the run's partitions is not a list") from exc
    if not isinstance(value, list):
        raise RerunRefused("Airflow's record of the run's partitions is not a list")
    return [str(v) for v in value]


def for_partition(partitions: list[str], partition: str) -> ClearPlan:
    """Rerun one customer / order: its map index is its position in the ``partitions`` list."""
    try:
        index = partitions.index(partition)
    except ValueError:
        raise RerunRefused(f"{partition} is not one of this DAG run's {len(partitions)} load partitions") from None
    return ClearPlan(task_ids=[(LOAD_TASK, index), REPORT_TASK], include_downstream=False,
                     what=f"the load of {partition} (map index {index}) and the report", partitions=[partition])


def for_failed(task_instances: Iterable[Mapping[str, Any]], partitions: list[str] | None = None) -> ClearPlan:
    """Rerun a run's failures only, from its task instances as Airflow lists them (task_id, map_index,
    state). ``partitions`` (when known) names the mapped instances."""
    failed = [ti for ti in task_instances if ti.get("state") == FAILED]
    mapped = sorted({int(ti["map_index"]) for ti in failed
                     if ti.get("task_id") == LOAD_TASK and int(ti.get("map_index", -1)) >= 0})
    if mapped:
        names = [partitions[i] for i in mapped if partitions and i < len(partitions)]
        listed = ", ".join(names) if len(names) == len(mapped) else ", ".join(map(str, mapped))
        return ClearPlan(task_ids=[*((LOAD_TASK, i) for i in mapped), REPORT_TASK], include_downstream=False,
                         what=f"{len(mapped)} failed load{'s' if len(mapped) != 1 else ''} ({listed}) and the report",
                         partitions=names)
    stages = {str(ti.get("task_id")) for ti in failed}
    for stage in STAGES:
        if stage in stages and stage != REPORT_TASK:
            return ClearPlan(task_ids=[stage], include_downstream=True,
                             what=f"the failed stage {stage} and everything after it (report included)")
    if REPORT_TASK in stages:
        return ClearPlan(task_ids=[REPORT_TASK], include_downstream=False, what="the failed report")
    raise RerunRefused("Airflow lists no failed task instance in this DAG run: nothing to rerun")


def cleared(answer: Any) -> list[dict[str, Any]]:
    """The task instances Airflow says it cleared (task_id, map_index, state, try_number), in task order."""
    rows = (answer or {}).get("task_instances") if isinstance(answer, Mapping) else None
    found = [{"task_id": str(ti.get("task_id")), "map_index": int(ti.get("map_index", -1)),
              "state": ti.get("state"), "try_number": ti.get("try_number")} for ti in rows or []]
    order = {stage: n for n, stage in enumerate(STAGES)}
    return sorted(found, key=lambda ti: (order.get(ti["task_id"], len(order)), ti["task_id"], ti["map_index"]))
