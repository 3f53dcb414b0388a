"""The five stages, each a function of (run context, steps, previous stage's output).

Airflow tasks and the CLI call these; they move only paths (URLs) and counts between stages (XCom),
stage data as Parquet in the run's staging folder on object storage (``runs/staging.py``), and record
the run, its items (each stage replaces only its own, see ``runs/outcomes.py``) and the API calls each
stage made — also when the stage fails — in the state store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from typing import Any

from channelsync.clients.call_tally import CallTally, ContextThreadPool
from channelsync.errors import ChannelsyncError, define
from channelsync.runs.context import RunContext
from channelsync.runs.slot_release import load_running
from channelsync.runs.status import run_status
from channelsync.runs.steps import TemplateSteps
from channelsync.state import repository

log = logging.getLogger(__name__)



class LoadIncomplete(ChannelsyncError):
    code = "LOAD_INCOMPLETE"


class PartitionFailed(ChannelsyncError):
    """A mapped load's customer or order failed for good (its items say why); a retry cannot help until a
    person fixes the cause, so the task fails at once."""

    code = define("LOAD_PARTITION_FAILED", "channelsync",
                  "One customer or order could not be loaded (see its items); fix the cause and clear its task")


def _calls_since(run: RunContext, before: dict[str, int]) -> dict[str, int]:
    """API calls this stage sent (clients may be shared by stages when a run is in one process)."""
    return {system: calls - before.get(system, 0) for system, calls in run.api_calls().items()
            if calls - before.get(system, 0)}


@contextmanager
def _counting_calls(run: RunContext, result: dict[str, Any]) -> Iterator[None]:
    """Record the stage's API calls on its run whether the stage succeeds or fails."""
    before = run.api_calls()
    try:
        with run.counting_calls():
            yield
    finally:
        _record_calls(run, result, before)


def _record_calls(run: RunContext, result: dict[str, Any], before: dict[str, int]) -> None:
    calls = _calls_since(run, before)
    result["api_calls"] = calls
    if run.run_id is not None:
        repository.add_api_calls(run.state_url, run.run_id, calls)


def stage_extract(run: RunContext, steps: TemplateSteps) -> dict[str, Any]:
    from channelsync.runs.staging import write_frame
    from channelsync.state.config_audit import record_config

    run.run_id = repository.start_run(
        run.state_url, integration=run.integration.name, template=run.template, run_key=run.run_key,
        preview=run.preview,
    )
    if record_config(run.state_url, run.integration):
        log.info("integration %s: configuration changed since the last run (recorded in config_audit)",
                 run.integration.name)
    result: dict[str, Any] = {"run_id": run.run_id}
    with _counting_calls(run, result):
        frame = steps.extract(run)
    path = write_frame(run.staging / "extract.parquet", frame)
    log.info("extract: %d rows staged at %s; API calls %s", len(frame), path, result["api_calls"])
    return {**result, "path": path, "rows": len(frame)}


def stage_validate(run: RunContext, steps: TemplateSteps, extracted: dict[str, Any]) -> dict[str, Any]:
    from channelsync.quality.suite import validate
    from channelsync.runs.staging import read_frame, write_frame

    run.run_id = extracted["run_id"]
    frame = read_frame(extracted["path"])
    outcome = validate(frame, steps.suite(run))  # raises SuiteFailed: nothing is written after that
    items = [
        {"entity_type": steps.entity_type, "source_key": str(row.source_key), "outcome": "quarantined",
         "error_code": row.error_code, "error_message": row.reason}
        for row in outcome.quarantine_items().itertuples()
    ] + [
        {"entity_type": steps.entity_type, "source_key": str(row.source_key), "outcome": "warning",
         "warnings": [row.reason]}
        for row in outcome.warning_items().itertuples()
    ]
    repository.replace_items(run.state_url, run.run_id, "validate", items)
    path = write_frame(run.staging / "valid.parquet", outcome.valid)
    quarantined, warnings = len(outcome.quarantine_items()), len(outcome.warning_items())
    log.info("validate: %d valid rows, %d quarantined, %d warnings", len(outcome.valid), quarantined, warnings)
    for row in outcome.quarantine_items().head(20).itertuples():
        log.warning("quarantined %s: %s", row.source_key, row.reason)
    return {"run_id": run.run_id, "path": path, "rows": len(outcome.valid), "quarantined": quarantined,
            "warnings": warnings}


def stage_reconcile(run: RunContext, steps: TemplateSteps, validated: dict[str, Any], *, preview_rows: int = 50
                    ) -> dict[str, Any]:
    from channelsync.runs.staging import read_frame, write_csv

    run.run_id = validated["run_id"]
    result: dict[str, Any] = {"run_id": run.run_id}
    with _counting_calls(run, result):
        summary = steps.plan(run, read_frame(validated["path"]))
    diff_path = write_csv(run.staging / "plan_diff.csv", summary.diff)
    items = summary.items.to_dict("records") if summary.items is not None else []
    repository.replace_items(run.state_url, run.run_id, "reconcile", items)
    log.info("reconcile: plan %s", ", ".join(f"{op}={n}" for op, n in sorted(summary.counts.items())) or "empty")
    if len(summary.diff):
        shown = summary.diff.head(preview_rows).astype("string").fillna("").to_string(index=False, max_colwidth=40)
        log.info("field-level diff (first %d of %d rows; all in %s):\n%s",
                 min(preview_rows, len(summary.diff)), len(summary.diff), diff_path, shown)
    # Preview writes nothing, so a mapped load has nothing to map over.
    partitions = [] if run.preview else list(summary.partitions)
    return {**result, "plan_path": summary.plan_path, "diff_path": diff_path, "counts": summary.counts,
            "partitions": partitions}


def stage_load(run: RunContext, steps: TemplateSteps, planned: dict[str, Any], *, partition: str | None = None
               ) -> dict[str, Any]:
    """Apply the plan — or, for a mapped load, one partition of it (one customer, one order)."""
    run.run_id = planned["run_id"]
    if run.preview:
        log.info("preview: the plan is in %s; nothing is written", planned["diff_path"])
        return {"run_id": run.run_id, "preview": True, "api_calls": {}}
    result: dict[str, Any] = {"run_id": run.run_id}
    before = run.api_calls()
    with load_running(run):  # the last load of the process to end gives the concurrency slots back
        try:
            with run.counting_calls():
                summary = (steps.apply(run, planned["plan_path"]) if partition is None
                           else steps.apply(run, planned["plan_path"], partition=partition))
        except BaseException:
            _record_calls(run, result, before)  # on the run, failed or not
            raise
    # The calls are added to the run with the items, in one transaction (one per load task, not two).
    result["api_calls"] = _calls_since(run, before)
    repository.replace_items(
        run.state_url, run.run_id, "load",
        [{"entity_type": steps.entity_type, **asdict(o)} for o in summary.outcomes], partition=partition,
        api_calls=result["api_calls"],
    )
    counts: dict[str, int] = {}
    for outcome in summary.outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    log.info("load%s: %s; API calls %s", f" of {partition}" if partition else "", counts, result["api_calls"])
    if summary.retriable_failures:
        # Recorded above; failing the task lets Airflow retry it, and the ledger skips what was applied.
        raise LoadIncomplete(f"{summary.retriable_failures} operation(s) could not be completed; retrying sends "
                             "only those")
    if summary.failed:
        raise PartitionFailed(f"{partition or 'the load'} failed: {summary.failed}")
    return {**result, "counts": counts, "partition": partition}


def record_stage_failure(run: RunContext, stage: str, error: BaseException) -> None:
    """Keep why a stage failed on the run row (the report stage closes the run later)."""
    if run.run_id is None:
        run.run_id = repository.start_run(run.state_url, integration=run.integration.name, template=run.template,
                                          run_key=run.run_key, preview=run.preview)
    code = getattr(error, "code", None) or type(error).__name__
    message = getattr(error, "message", None) or str(error)
    repository.record_error(run.state_url, run.run_id, error_code=code, error_message=f"{stage}: {message}")
    # A channelsync error says what went wrong in one line; anything else is a defect: keep its traceback.
    log.error("stage %s failed: [%s] %s", stage, code, message, exc_info=not isinstance(error, ChannelsyncError))


def stage_report(run: RunContext, results: dict[str, dict[str, Any] | None], *, failed: bool,
                 error: BaseException | None = None) -> dict[str, Any]:
    """Close the run: status from the recorded items (and whether an upstream stage failed)."""
    run_id = next((r["run_id"] for r in results.values() if r and r.get("run_id")), None)
    if run_id is None:
        run_id = repository.start_run(run.state_url, integration=run.integration.name, template=run.template,
                                      run_key=run.run_key, preview=run.preview)
    counts = repository.item_counts(run.state_url, run_id)
    status = run_status(counts, failed=failed, preview=run.preview)
    planned = results.get("reconcile") or {}
    api_calls = repository.finish_run(  # every stage added its calls to the run, failed stages included
        run.state_url, run_id, status=status, counts=counts, plan_path=planned.get("diff_path"),
        clear_error=not failed,
    )
    summary = {"run_id": run_id, "status": status, "counts": counts, "api_calls": api_calls,
               "preview": run.preview, "plan": planned.get("counts")}
    log.info("run %s of %s/%s: %s %s", run_id, run.integration.name, run.template, status.upper(), summary)
    return summary


def run_in_process(run: RunContext, steps: TemplateSteps, *, preview_rows: int = 50, load_tasks: int = 1
                   ) -> dict[str, Any]:
    """All five stages in order, with the DAG's failure semantics (tests and benchmarks use this;
    ``channelsync sync`` runs the real DAG through ``dag.test()``).

    ``load_tasks``: how many of a mapped load's task instances run at once, as the PSA pool admits them
    (``TemplateSpec.load_tasks_at_once``); each is a context of its own on a thread,
    sharing the run's clients (as the benchmarks run them; 1: one after another, in plan order)."""
    results: dict[str, dict[str, Any] | None] = {}
    stage = "extract"
    try:
        results["extract"] = extracted = stage_extract(run, steps)
        stage = "validate"
        results["validate"] = validated = stage_validate(run, steps, extracted)
        stage = "reconcile"
        results["reconcile"] = planned = stage_reconcile(run, steps, validated, preview_rows=preview_rows)
        stage = "load"
        if planned.get("partitions"):
            # As Airflow runs a mapped load: every partition is tried, a failed one fails only itself.
            loads, failures = _load_partitions(run, steps, planned, load_tasks)  # each failure recorded there
            results["load"] = {"run_id": run.run_id, "partitions": loads}
            if failures:
                summary = stage_report(run, results, failed=True)
                summary["error"] = failures[0]
                return summary
        else:
            results["load"] = stage_load(run, steps, planned)
    except Exception as exc:
        record_stage_failure(run, stage, exc)
        summary = stage_report(run, results, failed=True)
        summary["error"] = exc
        return summary
    return stage_report(run, results, failed=False)


def _load_partitions(run: RunContext, steps: TemplateSteps, planned: dict[str, Any], load_tasks: int
                     ) -> tuple[list[dict[str, Any]], list[Exception]]:
    def load(partition: str) -> dict[str, Any] | Exception:
        # A task instance of its own: its own call tally, the run's clients (one set per process, as a worker).
        task = run if load_tasks <= 1 else replace(run, _tally=CallTally())
        try:
            return stage_load(task, steps, planned, partition=partition)
        except Exception as exc:
            record_stage_failure(task, f"load of {partition}", exc)
            return exc

    partitions = [str(p) for p in planned["partitions"]]
    if load_tasks <= 1:
        results = [load(p) for p in partitions]
    else:
        with ContextThreadPool(max_workers=load_tasks, thread_name_prefix="load-task") as pool:
            results = list(pool.map(load, partitions))
    return ([r for r in results if not isinstance(r, Exception)],
            [r for r in results if isinstance(r, Exception)])
