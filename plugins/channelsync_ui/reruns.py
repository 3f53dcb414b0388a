"""Reruns from a run's status page, through Airflow's own REST API as the signed-in user.

- ``POST /runs/{run_id}/items/{item_id}/rerun``: the item's customer or order — its mapped ``load`` task
  instance (the map index is the partition's position in the ``partitions`` task's XCom) and ``report``.
  An item of a template without partitions reruns the run's failed stage.
- ``POST /runs/{run_id}/rerun-failed``: every failed mapped ``load`` instance and ``report``; for a
  template without partitions (or a run that failed before its load was mapped), the first failed stage
  and everything after it.

Both forward the user's token to ``POST /api/v2/dags/{dag_id}/clearTaskInstances``, so Airflow decides
with that user's permissions and writes its audit log (event ``post_clear_task_instances``) under their
name; the plugin first asks the auth manager for the same right (PUT on the DAG's task instances) and
checks the form's origin and CSRF token. The page shows Airflow's answer as it came.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from channelsync.state.db import session_scope
from channelsync.state.models import SyncItem
from channelsync.templates.dag_builder import dag_id_for
from channelsync.ui import queries
from channelsync.ui import reruns as rules
from channelsync.ui.links import dag_run_url, split_run_key

from .airflow_api import AirflowApi, Answer
from .app import _not_found, _wants_html, app, state_url
from .security import RERUN, access, checked_form
from .views import SECURITY_HEADERS, Urls, render

CheckedForm = Annotated[FormData, Depends(checked_form)]


def _status(answer: Answer) -> int:
    """Airflow's refusal as it came (400, 403, 404, 409 …); unreachable or broken: 502."""
    if answer.ok:
        return 200
    return answer.status if 400 <= answer.status < 500 else 502


def _show(request: Request, run: Any, *, what: str, answer: Answer | None, refused: str | None = None) -> Response:
    """The result page (or JSON): what was asked of Airflow and what it answered."""
    cleared = rules.cleared(answer.body) if answer is not None and answer.ok else []
    status = 409 if refused else _status(answer) if answer is not None else 200
    if not _wants_html(request):
        return JSONResponse({
            "ok": refused is None and answer is not None and answer.ok, "what": what, "refused": refused,
            "airflow": None if answer is None else {"method": answer.method, "path": answer.path,
                                                    "status": answer.status, "body": answer.body},
            "cleared": cleared,
        }, status_code=status, headers=SECURITY_HEADERS)
    urls = Urls(request)
    return render(request, "rerun.html", status_code=status, run=run, what=what, answer=answer, refused=refused,
                  cleared=cleared, airflow_run=dag_run_url(urls.airflow, run.run_key))


def _run_for_rerun(request: Request, run_id: int) -> tuple[Any, str, str] | Response:
    with session_scope(state_url()) as session:
        run = queries.run(session, run_id)
    if run is None:
        return _not_found(request, f"no sync run {run_id}")
    dag_id = dag_id_for(run.integration, run.template)
    access(request).require_change(RERUN, dag_id)
    _, dag_run_id = split_run_key(run.run_key)
    return run, dag_id, dag_run_id


def _note(request: Request, run: Any, what: str) -> str:
    return f"channelsync rerun by {access(request).username} from sync run #{run.id}: {what}"


def _clear(request: Request, api: AirflowApi, run: Any, dag_id: str, dag_run_id: str, plan: rules.ClearPlan
           ) -> Response:
    answer = api.clear(dag_id, plan.body(dag_run_id=dag_run_id, note=_note(request, run, plan.what)))
    return _show(request, run, what=plan.what, answer=answer)


def _rerun_failed(request: Request, api: AirflowApi, run: Any, dag_id: str, dag_run_id: str) -> Response:
    answer, failed = api.failed_task_instances(dag_id, dag_run_id)
    if not answer.ok:
        return _show(request, run, what="list the run's failed task instances", answer=answer)
    partitions: list[str] | None = None
    if any(ti.get("task_id") == rules.LOAD_TASK and int(ti.get("map_index", -1)) >= 0 for ti in failed):
        found = api.partitions(dag_id, dag_run_id)
        try:
            partitions = rules.partition_list(found.body.get("value")) if found.ok and isinstance(found.body, dict) \
                else None
        except rules.RerunRefused:  # only the names are missing: the map indexes still say what to clear
            partitions = None
    try:
        plan = rules.for_failed(failed, partitions)
    except rules.RerunRefused as exc:
        return _show(request, run, what="rerun the failed items", answer=None, refused=str(exc))
    return _clear(request, api, run, dag_id, dag_run_id, plan)


@app.post("/runs/{run_id}/items/{item_id}/rerun", name="rerun_item")
def rerun_item(request: Request, run_id: int, item_id: int, form: CheckedForm) -> Response:
    found = _run_for_rerun(request, run_id)
    if isinstance(found, Response):
        return found
    run, dag_id, dag_run_id = found
    with session_scope(state_url()) as session:
        item = session.get(SyncItem, item_id)
        partition = item.partition if item is not None and item.run_id == run.id else None
        exists = item is not None and item.run_id == run.id
    if not exists:
        return _not_found(request, f"sync run {run_id} has no item {item_id}")
    if run.preview:
        return _show(request, run, what="rerun an item", answer=None,
                     refused="a preview wrote nothing: trigger a new preview or a real run instead")
    with AirflowApi.as_user(request) as api:
        if partition is None:  # a template without partitions: its failed stage
            return _rerun_failed(request, api, run, dag_id, dag_run_id)
        answer = api.partitions(dag_id, dag_run_id)
        if not answer.ok or not isinstance(answer.body, dict):
            return _show(request, run, what=f"find the map index of {partition}", answer=answer)
        try:
            plan = rules.for_partition(rules.partition_list(answer.body.get("value")), partition)
        except rules.RerunRefused as exc:
            return _show(request, run, what=f"rerun {partition}", answer=None, refused=str(exc))
        return _clear(request, api, run, dag_id, dag_run_id, plan)


@app.post("/runs/{run_id}/rerun-failed", name="rerun_failed")
def rerun_failed(request: Request, run_id: int, form: CheckedForm) -> Response:
    found = _run_for_rerun(request, run_id)
    if isinstance(found, Response):
        return found
    run, dag_id, dag_run_id = found
    if run.preview:
        return _show(request, run, what="rerun the failed items", answer=None,
                     refused="a preview wrote nothing: trigger a new preview or a real run instead")
    with AirflowApi.as_user(request) as api:
        return _rerun_failed(request, api, run, dag_id, dag_run_id)
