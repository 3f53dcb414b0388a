"""The five stages, each a function of (run context, steps, previous stage's output).

Airflow tasks and the CLI call these; they move only paths and counts between stages (XCom), stage
data as Parquet under the run's staging folder, and record the run and its items in the state store.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from channelsync.errors import ChannelsyncError
from channelsync.runs.context import RunContext
from channelsync.runs.status import run_status
from channelsync.runs.steps import TemplateSteps
from channelsync.state import repository

log = logging.getLogger(__name__)

VALIDATE_OUTCOMES = ("quarantined", "warning")
PLAN_OUTCOMES = ("conflict", "duplicate")
LOAD_OUTCOMES = ("created", "updated", "deactivated", "linked", "unchanged", "failed", "flagged", "deferred")


class LoadIncomplete(ChannelsyncError):
    code = "LOAD_INCOMPLETE"


def _calls_since(run: RunContext, before: dict[str, int]) -> dict[str, int]:
    """API calls this stage sent (clients may be shared by stages when a run is in one process)."""
    return {system: calls - before.get(system, 0) for system, calls in run.api_calls().items()
            if calls - before.get(system, 0)}


def stage_extract(run: RunContext, steps: TemplateSteps) -> dict[str, Any]:
    from channelsync.state.config_audit import record_config

    before = run.api_calls()
    run.run_id = repository.start_run(
        run.state_url, integration=run.integration.name, template=run.template, run_key=run.run_key,
        preview=run.preview,
    )
    if record_config(run.state_url, run.integration):
        log.info("integration %s: configuration changed since the last run (recorded in config_audit)",
                 run.integration.name)
    frame = steps.extract(run)
    path = run.staging / "extract.parquet"
    frame.to_parquet(path, index=False)
    calls = _calls_since(run, before)
    log.info("extract: %d rows staged at %s; API calls %s", len(frame), path, calls)
    return {"run_id": run.run_id, "path": str(path), "rows": len(frame), "api_calls": calls}


def stage_validate(run: RunContext, steps: TemplateSteps, extracted: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    from channelsync.quality.suite import validate

    run.run_id = extracted["run_id"]
    frame = pd.read_parquet(extracted["path"])
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
    repository.replace_items(run.state_url, run.run_id, VALIDATE_OUTCOMES, items)
    path = run.staging / "valid.parquet"
    outcome.valid.to_parquet(path, index=False)
    quarantined, warnings = len(outcome.quarantine_items()), len(outcome.warning_items())
    log.info("validate: %d valid rows, %d quarantined, %d warnings", len(outcome.valid), quarantined, warnings)
    for row in outcome.quarantine_items().head(20).itertuples():
        log.warning("quarantined %s: %s", row.source_key, row.reason)
    return {"run_id": run.run_id, "path": str(path), "rows": len(outcome.valid), "quarantined": quarantined,
            "warnings": warnings}


def stage_reconcile(run: RunContext, steps: TemplateSteps, validated: dict[str, Any], *, preview_rows: int = 50
                    ) -> dict[str, Any]:
    import pandas as pd

    before = run.api_calls()
    run.run_id = validated["run_id"]
    summary = steps.plan(run, pd.read_parquet(validated["path"]))
    diff_path = run.staging / "plan_diff.csv"
    summary.diff.to_csv(diff_path, index=False)
    if summary.items is not None:
        repository.replace_items(run.state_url, run.run_id, PLAN_OUTCOMES, summary.items.to_dict("records"))
    log.info("reconcile: plan %s", ", ".join(f"{op}={n}" for op, n in sorted(summary.counts.items())) or "empty")
    if len(summary.diff):
        shown = summary.diff.head(preview_rows).astype("string").fillna("").to_string(index=False, max_colwidth=40)
        log.info("field-level diff (first %d of %d rows; all in %s):\n%s",
                 min(preview_rows, len(summary.diff)), len(summary.diff), diff_path, shown)
    return {"run_id": run.run_id, "plan_path": str(summary.plan_path), "diff_path": str(diff_path),
            "counts": summary.counts, "api_calls": _calls_since(run, before)}


def stage_load(run: RunContext, steps: TemplateSteps, planned: dict[str, Any]) -> dict[str, Any]:
    run.run_id = planned["run_id"]
    if run.preview:
        log.info("preview: the plan is in %s; nothing is written", planned["diff_path"])
        return {"run_id": run.run_id, "preview": True, "api_calls": {}}
    before = run.api_calls()
    summary = steps.apply(run, Path(planned["plan_path"]))
    repository.replace_items(
        run.state_url, run.run_id, LOAD_OUTCOMES,
        [{"entity_type": steps.entity_type, **asdict(o)} for o in summary.outcomes],
    )
    counts: dict[str, int] = {}
    for outcome in summary.outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    calls = _calls_since(run, before)
    log.info("load: %s; API calls %s", counts, calls)
    if summary.retriable_failures:
        # Recorded above; failing the task lets Airflow retry it, and the ledger skips what was applied.
        raise LoadIncomplete(f"{summary.retriable_failures} operation(s) could not be completed; retrying sends "
                             "only those")
    return {"run_id": run.run_id, "counts": counts, "api_calls": calls}


def record_stage_failure(run: RunContext, stage: str, error: BaseException) -> None:
    """Keep why a stage failed on the run row (the report stage closes the run later)."""
    if run.run_id is None:
        run.run_id = repository.start_run(run.state_url, integration=run.integration.name, template=run.template,
                                          run_key=run.run_key, preview=run.preview)
    code = getattr(error, "code", None) or type(error).__name__
    message = getattr(error, "message", None) or str(error)
    repository.record_error(run.state_url, run.run_id, error_code=code, error_message=f"{stage}: {message}")
    log.error("stage %s failed: [%s] %s", stage, code, message)


def stage_report(run: RunContext, results: dict[str, dict[str, Any] | None], *, failed: bool,
                 error: BaseException | None = None) -> dict[str, Any]:
    """Close the run: status from the recorded items (and whether an upstream stage failed)."""
    run_id = next((r["run_id"] for r in results.values() if r and r.get("run_id")), None)
    if run_id is None:
        run_id = repository.start_run(run.state_url, integration=run.integration.name, template=run.template,
                                      run_key=run.run_key, preview=run.preview)
    counts = repository.item_counts(run.state_url, run_id)
    api_calls: dict[str, int] = {}
    for result in results.values():
        for system, calls in ((result or {}).get("api_calls") or {}).items():
            api_calls[system] = api_calls.get(system, 0) + calls
    status = run_status(counts, failed=failed, preview=run.preview)
    planned = results.get("reconcile") or {}
    repository.finish_run(
        run.state_url, run_id, status=status, counts=counts, api_calls=api_calls,
        plan_path=planned.get("diff_path"), clear_error=not failed,
    )
    summary = {"run_id": run_id, "status": status, "counts": counts, "api_calls": api_calls,
               "preview": run.preview, "plan": planned.get("counts")}
    log.info("run %s of %s/%s: %s %s", run_id, run.integration.name, run.template, status.upper(), summary)
    return summary


def run_in_process(run: RunContext, steps: TemplateSteps, *, preview_rows: int = 50) -> dict[str, Any]:
    """All five stages in order, with the DAG's failure semantics (tests and benchmarks use this;
    ``channelsync sync`` runs the real DAG through ``dag.test()``)."""
    results: dict[str, dict[str, Any] | None] = {}
    stage = "extract"
    try:
        results["extract"] = extracted = stage_extract(run, steps)
        stage = "validate"
        results["validate"] = validated = stage_validate(run, steps, extracted)
        stage = "reconcile"
        results["reconcile"] = planned = stage_reconcile(run, steps, validated, preview_rows=preview_rows)
        stage = "load"
        results["load"] = stage_load(run, steps, planned)
    except Exception as exc:
        record_stage_failure(run, stage, exc)
        summary = stage_report(run, results, failed=True)
        summary["error"] = exc
        return summary
    return stage_report(run, results, failed=False)
