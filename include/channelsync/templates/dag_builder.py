"""Build one Airflow DAG for one (integration, template): extract → validate → reconcile → load → report.

An integration whose ``approval`` setting is not ``never`` gets one more task between reconcile and load,
``approve_plan`` (runs/approval_operator.py): Airflow's ApprovalOperator, asking only when the plan needs it.

Imported at DAG parse time: only airflow.sdk and light channelsync modules here; every stage body
imports its heavy modules (pandas, GX, clients) when the task runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, Param, TriggerRule, get_current_context, task

from channelsync.config import IntegrationConfig, TemplateConfig
from channelsync.runs.approval_config import ApprovalConfig
from channelsync.templates.registry import TEMPLATES, TemplateSpec

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
ASSET_SCHEDULE_PREFIX = "asset:"  # schedule "asset:catalog_sync": run after this integration's catalog_sync


def dag_id_for(integration: str, template: str) -> str:
    return f"{integration}__{template}"


def asset_for(integration: str, template: str) -> Asset:
    """What a successful run of ``template`` updates; other templates of the integration may wait on it."""
    return Asset(uri=f"channelsync://{integration}/{template}", name=f"{integration}__{template}",
                 group="channelsync")


def _schedule(integration: IntegrationConfig, spec: TemplateSpec, template: TemplateConfig) -> Any:
    schedule = template.schedule or spec.default_schedule
    if schedule.startswith(ASSET_SCHEDULE_PREFIX):
        return [asset_for(integration.name, schedule.removeprefix(ASSET_SCHEDULE_PREFIX))]
    return schedule


def _run_context(spec: TemplateSpec, integration: IntegrationConfig, options: dict[str, Any]) -> Any:
    from channelsync.runs.context import RunContext

    context = get_current_context()
    dag_run = context["dag_run"]
    return RunContext(
        integration=integration,
        template=spec.name,
        options=spec.options_model.model_validate(options),
        run_key=f"{dag_run.dag_id}/{dag_run.run_id}",
        preview=bool(context["params"].get("preview", False)),
        params={k: v for k, v in dict(context["params"]).items() if k != "preview"},
        trigger_events=_trigger_extras(context),
    )


def _trigger_extras(context: Any) -> list[dict[str, Any]]:
    """The extras of the Asset events that triggered this run (empty for a scheduled or manual run)."""
    events = context.get("triggering_asset_events") or {}
    extras = [dict(event.extra or {}) for found in events.values() for event in found]
    return [extra for extra in extras if extra]


def _steps(spec: TemplateSpec) -> Any:
    from channelsync.imports import load_object

    return load_object(spec.steps)()


def psa_pool_name(system: str) -> str:
    """The Airflow pool of a PSA's API, shared by every DAG that calls it (``airflow_settings.yaml``)."""
    return f"{system}_api"


def build_dag(integration: IntegrationConfig, template_name: str, template: TemplateConfig) -> DAG:
    spec = TEMPLATES[template_name]
    options = dict(template.options)
    # Every task that calls the PSA takes slots of the PSA's pool equal to the calls it has in flight:
    # reconcile reads with one, load writes with ``load.concurrency`` threads (a partition: at most its own).
    psa_pool = psa_pool_name(integration.psa.system)
    gated = integration.approval_for(template_name).mode != "never"
    load_slots = spec.load_pool_slots(options)
    default_args = {
        "owner": integration.owner,
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "on_failure_callback": _on_task_failure,
    }
    with DAG(
        dag_id=dag_id_for(integration.name, template_name),
        description=f"{integration.name}: {spec.summary}",
        doc_md=_doc(integration, spec),
        schedule=_schedule(integration, spec, template),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args,
        tags=["channelsync", template_name, integration.name, integration.psa.system],
        params={"preview": Param(False, type="boolean", description="Dry run: show the plan, write nothing"),
                **{name: Param(**spec_kwargs) for name, spec_kwargs in spec.params.items()}},
        on_failure_callback=_on_dag_failure,
    ) as dag:

        @task(task_id="extract")
        def extract() -> dict[str, Any]:
            return _run_stage("extract", spec, integration, options)

        @task(task_id="validate")
        def validate(extracted: dict[str, Any]) -> dict[str, Any]:
            return _run_stage("validate", spec, integration, options, extracted)

        @task(task_id="reconcile", pool=psa_pool, pool_slots=1)
        def reconcile(validated: dict[str, Any]) -> dict[str, Any]:
            return _run_stage("reconcile", spec, integration, options, validated)

        @task(task_id="load", pool=psa_pool, pool_slots=load_slots)
        def load(planned: dict[str, Any], partition: str | None = None) -> dict[str, Any]:
            return _run_stage("load", spec, integration, options, planned, partition=partition)

        @task(task_id="partitions")
        def partitions(planned: dict[str, Any]) -> list[str]:
            """What the load is mapped over: one task instance per customer / order of the plan."""
            return list(planned.get("partitions") or [])

        @task(task_id="report", trigger_rule=TriggerRule.ALL_DONE, retries=0,
              outlets=[asset_for(integration.name, template_name)])
        def report() -> dict[str, Any]:
            from channelsync.runs.runner import stage_report

            # The template's own outcomes (posted, submitted …) are declared in its steps module; this task's
            # process has not imported it (every task is its own process), and an undeclared outcome would
            # count as a warning.
            _steps(spec)
            ti = get_current_context()["ti"]
            results = {name: ti.xcom_pull(task_ids=name) for name in ("extract", "validate", "reconcile")}
            held = _held_plan(results) if gated else None
            # A plan rejected (or unanswered) before its load is a Warning, not a failed load.
            failed = _load_failed(ti, results, partitioned=spec.partitioned) and held is None
            run = _run_context(spec, integration, options)
            summary = stage_report(run, results, failed=failed)
            if held is not None:
                from channelsync.state import repository

                repository.record_error(run.state_url, int(summary["run_id"]), error_code=held[0],
                                        error_message=held[1])
            _log_headline(summary)
            _alert(integration, spec.name, summary)
            if failed:
                raise _stage_already_alerted(f"run {summary['run_id']} failed: see the failed task's log and the "
                                             "run's error")
            return summary

        # TaskFlow passes XComArgs where the functions take the upstream dicts.
        extracted = extract()
        validated = validate(extracted)  # type: ignore[arg-type]
        planned = reconcile(validated)  # type: ignore[arg-type]
        if spec.partitioned:
            mapped_over = partitions(planned)  # type: ignore[arg-type]
            loaded = load.partial(planned=planned).expand(partition=mapped_over)
            to_gate: list[Any] = [mapped_over, loaded]
        else:
            loaded = load(planned)  # type: ignore[arg-type]
            to_gate = [loaded]
        if gated:
            # Its direct downstream tasks are what a rejection skips; the report (all done) still runs.
            planned >> _approval_gate(integration, spec) >> to_gate
        loaded >> report()
    return dag


def _approval_gate(integration: IntegrationConfig, spec: TemplateSpec) -> Any:
    from channelsync.runs.approval_operator import TASK_ID, PlanApprovalOperator

    return PlanApprovalOperator(task_id=TASK_ID, integration=integration.name, template=spec.name,
                                partitioned=spec.partitioned, approval=integration.approval_for(spec.name))


def _held_plan(results: dict[str, Any]) -> tuple[str, str] | None:
    """(error code, reason) when the run's plan was rejected or not answered in time (its load skipped)."""
    from channelsync import settings
    from channelsync.runs import approval

    planned = results.get("reconcile") or {}
    return approval.held(settings.state_url(), int(planned["run_id"])) if planned.get("run_id") else None


def watcher_asset(integration: IntegrationConfig, spec: TemplateSpec) -> Asset:
    """The Asset a template's watcher announces new work on (its default schedule names it)."""
    return asset_for(integration.name, spec.default_schedule.removeprefix(ASSET_SCHEDULE_PREFIX))


def build_watcher_dag(integration: IntegrationConfig, template_name: str, template: TemplateConfig) -> DAG | None:
    """The light polling DAG of a template that has a watcher: one task that asks the source for new work
    and, when there is some, emits one Asset event listing it (no new work: the task is skipped, so no event)."""
    spec = TEMPLATES[template_name]
    if spec.watcher is None:
        return None
    from channelsync.imports import load_object

    options = dict(template.options)
    asset = watcher_asset(integration, spec)
    watcher = load_object(spec.watcher)()
    schedule: Any = watcher.schedule(spec.options_model.model_validate(options))
    if str(schedule).startswith(ASSET_SCHEDULE_PREFIX):  # e.g. after each service_catalog_sync
        schedule = [asset_for(integration.name, str(schedule).removeprefix(ASSET_SCHEDULE_PREFIX))]
    with DAG(
        dag_id=f"{dag_id_for(integration.name, template_name)}__watcher",
        description=f"{integration.name}: announces new work for {template_name}",
        doc_md=(f"Polls {integration.name}'s sources for new work of **{template_name}** ({spec.summary}) and "
                f"announces it on the Asset `{asset.uri}`, which `{dag_id_for(integration.name, template_name)}` "
                "is scheduled on. Skipped when there is nothing new (no event)."),
        schedule=schedule, start_date=START_DATE, catchup=False, max_active_runs=1,
        default_args={"owner": integration.owner, "retries": 2, "retry_delay": timedelta(minutes=1),
                      "on_failure_callback": _on_task_failure},
        tags=["channelsync", template_name, integration.name, "watcher"],
        params={"preview": Param(False, type="boolean", description="Look only: log what is new, announce nothing")},
        on_failure_callback=_on_dag_failure,
    ) as dag:

        @task(task_id="watch", outlets=[asset])
        def watch() -> list[dict[str, Any]]:
            from airflow.sdk.exceptions import AirflowSkipException

            run = _run_context(spec, integration, options)
            found = watcher.poll(run)
            if not found or run.preview:
                raise AirflowSkipException("preview: nothing announced" if found else "nothing new")
            get_current_context()["outlet_events"][asset].extra = {"invoices": found}
            return list(found)

        watch()
    return dag


def _load_failed(ti: Any, results: dict[str, Any], *, partitioned: bool) -> bool:
    """Every stage hands its result to the next: a missing result means a stage failed for good. A mapped
    load failed when fewer of its task instances returned than there were partitions."""
    if results["reconcile"] is None:
        return True
    if not partitioned:
        results["load"] = ti.xcom_pull(task_ids="load")
        return results["load"] is None
    expected = len(results["reconcile"].get("partitions") or [])
    pulled = ti.xcom_pull(task_ids="load") if expected else None
    # All map indexes' results; Airflow gives a lone result as itself rather than a list of one.
    returned = [r for r in (pulled if isinstance(pulled, list) else [pulled]) if r]
    results["load"] = {"run_id": results["reconcile"]["run_id"], "partitions": returned}
    return len(returned) < expected


def _run_stage(stage: str, spec: TemplateSpec, integration: IntegrationConfig, options: dict[str, Any],
               previous: dict[str, Any] | None = None, *, partition: str | None = None) -> dict[str, Any]:
    from channelsync.runs import runner

    run = _run_context(spec, integration, options)
    if previous is not None:
        run.run_id = previous.get("run_id")
    try:
        if stage == "extract":
            return runner.stage_extract(run, _steps(spec))
        if stage == "validate":
            return runner.stage_validate(run, _steps(spec), previous or {})
        if stage == "reconcile":
            return runner.stage_reconcile(run, _steps(spec), previous or {},
                                          preview_rows=run.options.load.preview_rows)
        return runner.stage_load(run, _steps(spec), previous or {}, partition=partition)
    except Exception as exc:
        runner.record_stage_failure(run, stage, exc)
        if _retry_cannot_help(exc):
            from airflow.sdk.exceptions import AirflowFailException

            failure = AirflowFailException(str(exc))
            failure.code = getattr(exc, "code", type(exc).__name__)  # type: ignore[attr-defined]
            raise failure from exc
        raise


def _retry_cannot_help(exc: Exception) -> bool:
    """Wrong credentials, a refused plan, a failed suite: retrying the task would fail the same way.
    Unreachable APIs, lost answers and unfinished loads are left to Airflow's retries."""
    from channelsync.errors import ChannelsyncError, OutcomeUnknownError, RetriableApiError
    from channelsync.runs.runner import LoadIncomplete

    if isinstance(exc, RetriableApiError | OutcomeUnknownError | LoadIncomplete):
        return False
    return isinstance(exc, ChannelsyncError)  # fatal API errors, suite failures, refused plans, bad config


def _stage_already_alerted(message: str) -> Exception:
    """The report task fails a run whose stage failed (so the DAG run fails too), but that stage's own
    task already alerted: this failure is marked so the report does not alert a second time."""
    from airflow.sdk.exceptions import AirflowFailException

    failure = AirflowFailException(message)
    failure.stage_already_alerted = True  # type: ignore[attr-defined]
    return failure


def _log_headline(summary: dict[str, Any]) -> None:
    """The status line the DAG run's note will carry (plugins/channelsync_ui/run_notes.py)."""
    import logging

    from channelsync.ui.notes import headline

    logging.getLogger("channelsync.report").info("channelsync status of run %s: %s", summary["run_id"], headline(
        status=summary["status"], counts=summary["counts"], preview=bool(summary.get("preview"))))


def _alert(integration: IntegrationConfig, template: str, summary: dict[str, Any]) -> None:
    """The run's one alert e-mail, if it needs one (channelsync.alerts): sent here, once the run is closed,
    so it carries the final status and every failed item; the stage tasks' failure callbacks send none."""
    from channelsync.alerts import notify_run

    try:
        notify_run(integration, template, int(summary["run_id"]))
    except Exception:  # an alert that cannot be sent must not fail the run's report
        import logging

        logging.getLogger("channelsync.report").exception("could not send the run's alert")


def _on_task_failure(context: Any) -> None:
    from channelsync.alerts import on_task_failure

    if getattr(context.get("exception"), "stage_already_alerted", False):
        return
    on_task_failure(context)


def _on_dag_failure(context: Any) -> None:
    from channelsync.alerts import on_dag_failure

    if context.get("reason") == "task_failure":  # the failed task alerted already (one alert per failure)
        return
    on_dag_failure(context)


def _doc(integration: IntegrationConfig, spec: TemplateSpec) -> str:
    return (
        f"### {integration.name} · {spec.name}\n\n{spec.summary}.\n\n"
        f"- PSA: **{integration.psa.system}** (connection `{integration.psa.conn_id}`)\n"
        f"- distributors: {', '.join(integration.distributors)}\n"
        "- stages: extract → validate (Great Expectations) → reconcile (plan) → load (idempotent) → report\n"
        "- trigger with `{\"preview\": true}` to see the plan without writing anything; the plan's field-level "
        "diff is in the reconcile task's log.\n"
        + _approval_doc(integration.approval_for(spec.name))
    )


def _approval_doc(approval: ApprovalConfig) -> str:
    if approval.mode == "never":
        return ""
    when = {"always": "every run", "first_runs": f"the first {approval.first_runs} approved run(s)",
            "threshold": "a plan above a threshold"}[approval.mode]
    return (f"- approval before load (`approve_plan`): {when}, in Airflow's Required actions; no answer within "
            f"{approval.timeout_hours:g} h writes nothing\n")
