"""The operations pages as a FastAPI app, mounted by Airflow's API server under ``/channelsync``.

Every route depends on :func:`security.signed_in_user` (set on the app, so no route can forget it) and
asks the auth manager before showing a DAG's runs. The routes that change something are POSTs, each
depending on :func:`security.checked_form` (origin and CSRF token) and asking the auth manager for the
edit right the change needs: reruns (``reruns.py``: Airflow's clearTaskInstances, called with the
user's own token), customer mappings (``mapping_pages.py``), category mappings and service overrides
(``option_map_pages.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from channelsync import settings
from channelsync.state.db import session_scope
from channelsync.templates.dag_builder import dag_id_for
from channelsync.ui import catalog, dashboard, export, plan_diff, queries
from channelsync.ui.labels import STATUS_LABELS, outcome_kind
from channelsync.ui.links import STAGES, dag_run_url, dag_url, failed_stage, task_log_url

from .security import RERUN, CsrfRefused, Forbidden, NotSignedIn, access, login_url, signed_in_user
from .views import SECURITY_HEADERS, STATIC_DIR, Urls, render

HISTORY_PAGE, ITEMS_PAGE, PLAN_PAGE = 50, 100, 100
HistoryPerPage = Annotated[int, Query(ge=5, le=500)]
ItemsPerPage = Annotated[int, Query(ge=5, le=1000)]
RECENT_PER_CODE, RECENT_DAYS = 5, 30
STATIC_TYPES = {".css": "text/css", ".svg": "image/svg+xml"}

app = FastAPI(title="channelsync operations", dependencies=[Depends(signed_in_user)],
              docs_url=None, redoc_url=None, openapi_url=None)


@cache
def state_url() -> str:
    """Resolved once per process: it may ask Airflow for the ``channelsync_state`` connection."""
    return settings.state_url()


_config_cache: dict[str, Any] = {}


def load_config() -> tuple[Any, str | None]:
    """The integrations file (re-read when it changes), or None and why it could not be read."""
    from channelsync.config import load_config as read
    from channelsync.errors import ConfigError

    path = settings.config_path()
    try:
        stamp = f"{path}:{path.stat().st_mtime_ns}"
    except OSError:
        return None, f"{path}: file not found"
    if _config_cache.get("stamp") != stamp:
        try:
            _config_cache.update(stamp=stamp, config=read(path), error=None)
        except ConfigError as exc:
            _config_cache.update(stamp=stamp, config=None, error=str(exc))
    return _config_cache["config"], _config_cache["error"]


def paused_by_dag(dag_ids: list[str]) -> dict[str, bool]:
    """Airflow's is_paused of each DAG it knows (a DAG it does not know is absent)."""
    if not dag_ids:
        return {}
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(select(DagModel.dag_id, DagModel.is_paused).where(DagModel.dag_id.in_(dag_ids)))
        return {dag_id: bool(paused) for dag_id, paused in rows}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and "/api/" not in request.url.path


@app.exception_handler(NotSignedIn)
async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
    if _wants_html(request) and request.method == "GET":  # a form posted after the session ended: no redirect
        return RedirectResponse(login_url(request), status_code=302)
    return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


@app.exception_handler(Forbidden)
async def _forbidden(request: Request, exc: Forbidden) -> Response:
    if _wants_html(request):
        wanted = "read" if exc.action.startswith("read") else "edit"
        return render(request, "message.html", status_code=403, title="Not allowed",
                      message=f"Airflow does not let you {exc.action} {exc.dag_id}. Ask an Airflow admin for "
                              f"{wanted} access to this DAG.")
    return JSONResponse({"detail": str(exc)}, status_code=403)


@app.exception_handler(CsrfRefused)
async def _csrf_refused(request: Request, exc: CsrfRefused) -> Response:
    """Refused before anything was done: the request did not come from this plugin's own page."""
    if _wants_html(request):
        return render(request, "message.html", status_code=403, title="Request refused",
                      message=f"Nothing was changed: {exc}.")
    return JSONResponse({"detail": f"CSRF check failed: {exc}"}, status_code=403)


def _not_found(request: Request, what: str) -> Response:
    if _wants_html(request):
        return render(request, "message.html", status_code=404, title="Not found", message=what)
    return JSONResponse({"detail": what}, status_code=404)


def _page_number(page: int) -> int:
    return max(page, 1)


# ---- dashboard ---------------------------------------------------------------------------------------

def _cards(request: Request) -> tuple[list[Any], str | None]:
    config, config_error = load_config()
    allowed = access(request)
    candidates = [dag_id_for(i.name, t) for i in (config.integrations if config else []) for t in i.templates]
    with session_scope(state_url()) as session:
        records = queries.card_runs(session)
        candidates += [dag_id_for(i, t) for i, t in records]
        readable = allowed.readable(set(candidates))
        cards = dashboard.build_cards(session, config=config, paused=paused_by_dag(sorted(readable)),
                                      now=datetime.now(UTC), may_read=readable.__contains__, records=records)
    return cards, config_error


@app.get("/", name="dashboard")
def dashboard_page(request: Request) -> Response:
    cards, config_error = _cards(request)
    by_integration: dict[str, list[Any]] = {}
    for card in cards:
        by_integration.setdefault(card.integration, []).append(card)
    tally = {colour: sum(1 for c in cards if c.colour == colour) for colour in ("red", "yellow", "green", "gray")}
    return render(request, "dashboard.html", by_integration=by_integration, tally=tally, config_error=config_error,
                  status_labels=STATUS_LABELS, dag_url=dag_url, undelivered=alert_pages.undelivered(request))


def _brief_json(run: Any) -> dict[str, Any] | None:
    if run is None:
        return None
    data = asdict(run)
    for name in ("started_at", "finished_at"):
        data[name] = data[name].isoformat() if data[name] else None
    return data


def _endpoint_json(endpoint: Any) -> dict[str, Any]:
    data = asdict(endpoint)
    data["checked_at"] = endpoint.checked_at.isoformat() if endpoint.checked_at else None
    return data


@app.get("/api/dashboard", name="dashboard_json")
def dashboard_json(request: Request) -> JSONResponse:
    cards, config_error = _cards(request)
    return JSONResponse({
        "config_error": config_error,
        "undelivered_alerts": [m.id for m in alert_pages.undelivered(request)],
        "cards": [{"integration": c.integration, "template": c.template, "dag_id": c.dag_id, "colour": c.colour,
                   "reasons": c.reasons, "schedule": c.schedule, "paused": c.paused, "enabled": c.enabled,
                   "configured": c.configured, "running": c.running,
                   "overdue_since": c.overdue.isoformat() if c.overdue else None,
                   "last_run": _brief_json(c.last_run), "last_finished": _brief_json(c.last_finished),
                   "last_success": _brief_json(c.last_success),
                   "endpoints": [_endpoint_json(e) for e in c.endpoints]} for c in cards],
    }, headers=SECURITY_HEADERS)


# ---- history -----------------------------------------------------------------------------------------

def _split_dag_id(dag_id: str) -> tuple[str, str] | None:
    """(integration, template) of a template's DAG; None for any other (maintenance, a watcher …)."""
    integration, sep, template = dag_id.partition("__")
    return (integration, template) if sep and integration and template and "__" not in template else None


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _history(request: Request, dag_id: str, status: str | None, preview: str | None, since: str | None,
             until: str | None, error_code: str | None, page: int, per_page: int) -> dict[str, Any] | None:
    key = _split_dag_id(dag_id)
    access(request).require(dag_id)
    if key is None:
        return None
    filters = queries.HistoryFilter(status=status or None, since=_parse_date(since), until=_parse_date(until),
                                    preview={"real": False, "preview": True}.get(preview or ""),
                                    error_code=(error_code or "").strip() or None)
    with session_scope(state_url()) as session:
        runs, total = queries.history(session, *key, filters, page=_page_number(page), per_page=per_page)
    return {"integration": key[0], "template": key[1], "dag_id": dag_id, "runs": runs, "total": total,
            "page": _page_number(page), "pages": max((total + per_page - 1) // per_page, 1),
            "filters": filters}


@app.get("/history/{dag_id}", name="history")
def history_page(request: Request, dag_id: str, status: str | None = None, preview: str | None = None,
                 since: str | None = None, until: str | None = None, error_code: str | None = None,
                 page: int = 1, per_page: HistoryPerPage = HISTORY_PAGE) -> Response:
    found = _history(request, dag_id, status, preview, since, until, error_code, page, per_page)
    if found is None:
        return _not_found(request, f"{dag_id} is not a channelsync DAG (those are named <integration>__<template>)")
    urls = Urls(request)
    return render(request, "history.html", **found, status_labels=STATUS_LABELS, stages=STAGES,
                  failed_stage=failed_stage, airflow_run=lambda key: dag_run_url(urls.airflow, key),
                  task_log=lambda key, task: task_log_url(urls.airflow, key, task),
                  dag_link=dag_url(urls.airflow, dag_id))


@app.get("/api/history/{dag_id}", name="history_json")
def history_json(request: Request, dag_id: str, status: str | None = None, preview: str | None = None,
                 since: str | None = None, until: str | None = None, error_code: str | None = None,
                 page: int = 1, per_page: HistoryPerPage = HISTORY_PAGE) -> Response:
    found = _history(request, dag_id, status, preview, since, until, error_code, page, per_page)
    if found is None:
        return _not_found(request, f"{dag_id} is not a channelsync DAG")
    return JSONResponse({"dag_id": dag_id, "total": found["total"], "page": found["page"], "pages": found["pages"],
                         "runs": [_brief_json(r) for r in found["runs"]]}, headers=SECURITY_HEADERS)


# ---- one run -----------------------------------------------------------------------------------------

def _run_or_none(request: Request, run_id: int) -> Any:
    with session_scope(state_url()) as session:
        run = queries.run(session, run_id)
    if run is not None:
        access(request).require(dag_id_for(run.integration, run.template))
    return run


def _items(run: Any, outcome: str | None, q: str | None, page: int, per_page: int) -> dict[str, Any]:
    with session_scope(state_url()) as session:
        rows, total = queries.items(session, run.id, outcome=outcome or None, search=q or None,
                                    page=_page_number(page), per_page=per_page)
        per_outcome = queries.outcome_counts(session, run.id)
    changes = plan_diff.changes_for(run.plan_path, [r.source_key for r in rows if r.changed_fields])
    return {"items": rows, "total": total, "page": _page_number(page),
            "pages": max((total + per_page - 1) // per_page, 1), "per_outcome": per_outcome,
            "changes": changes, "explain": {r.error_code: catalog.describe(r.error_code) for r in rows if r.error_code}}


@app.get("/runs/{run_id}", name="run")
def run_page(request: Request, run_id: int, outcome: str | None = None, q: str | None = None, page: int = 1,
             plan_page: int = 1, per_page: ItemsPerPage = ITEMS_PAGE) -> Response:
    run = _run_or_none(request, run_id)
    if run is None:
        return _not_found(request, f"no sync run {run_id}")
    found = _items(run, outcome, q, page, per_page)
    planned = plan_diff.plan(run.plan_path) if run.preview else None
    plan_start = (_page_number(plan_page) - 1) * PLAN_PAGE
    urls = Urls(request)
    dag_id = dag_id_for(run.integration, run.template)
    may_rerun = not run.preview and access(request).may(RERUN, dag_id)
    has_failures = run.status == "failure" or any(
        count and outcome_kind(name) == "failure" for name, count in found["per_outcome"].items())
    return render(
        request, "run.html", run=run, **found, outcome=outcome or "", q=q or "",
        may_rerun=may_rerun, rerun_failed=may_rerun and has_failures,
        plan=planned[plan_start:plan_start + PLAN_PAGE] if planned is not None else None,
        plan_total=len(planned) if planned is not None else 0, plan_page=_page_number(plan_page),
        plan_pages=max(((len(planned) if planned else 0) + PLAN_PAGE - 1) // PLAN_PAGE, 1),
        plan_counts=plan_diff.plan_counts(planned) if planned else {},
        diff_kept=plan_diff.available(run.plan_path), run_error=catalog.describe(run.error_code),
        dag_id=dag_id, stages=STAGES, failed=failed_stage(run.error_message),
        airflow_run=dag_run_url(urls.airflow, run.run_key),
        task_log=lambda task: task_log_url(urls.airflow, run.run_key, task), kind=outcome_kind,
        status_labels=STATUS_LABELS,
    )


@app.get("/api/runs/{run_id}", name="run_json")
def run_json(request: Request, run_id: int, outcome: str | None = None, q: str | None = None,
             page: int = 1, per_page: ItemsPerPage = ITEMS_PAGE) -> Response:
    run = _run_or_none(request, run_id)
    if run is None:
        return _not_found(request, f"no sync run {run_id}")
    found = _items(run, outcome, q, page, per_page)
    return JSONResponse({
        "run": {**(_brief_json(queries.brief(run)) or {}), "integration": run.integration, "template": run.template},
        "total": found["total"], "page": found["page"], "pages": found["pages"], "per_outcome": found["per_outcome"],
        "items": [{"id": item.id, **export.item_record(item, found["changes"])} for item in found["items"]],
    }, headers=SECURITY_HEADERS)


@app.get("/runs/{run_id}/items.csv", name="run_csv")
def run_csv(request: Request, run_id: int, outcome: str | None = None, q: str | None = None) -> Response:
    run = _run_or_none(request, run_id)
    if run is None:
        return _not_found(request, f"no sync run {run_id}")
    filename = f"channelsync-run-{run.id}-{run.integration}-{run.template}.csv"

    def lines() -> Iterator[str]:
        with session_scope(state_url()) as session:
            yield from export.csv_lines(run, queries.iter_items(session, run.id, outcome=outcome or None,
                                                                search=q or None))

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})


@app.get("/dag-runs/{dag_id}/{airflow_run_id:path}", name="dag_run")
def dag_run_page(request: Request, dag_id: str, airflow_run_id: str) -> Response:
    """From Airflow's DAG-run tab: the sync run that DAG run recorded."""
    access(request).require(dag_id)
    with session_scope(state_url()) as session:
        run = queries.run_by_key(session, f"{dag_id}/{airflow_run_id}")
    if run is None:
        return _not_found(request, f"DAG run {airflow_run_id} of {dag_id} recorded no sync run (yet)")
    return RedirectResponse(Urls(request).page(f"/runs/{run.id}"), status_code=302)


# ---- error catalog -----------------------------------------------------------------------------------

def _catalog(request: Request, q: str | None, seen_only: bool) -> dict[str, Any]:
    entries = catalog.entries()
    with session_scope(state_url()) as session:
        occurrences = queries.error_occurrences(session, since=datetime.now(UTC) - timedelta(days=RECENT_DAYS))
    allowed = access(request)
    readable = allowed.readable({dag_id_for(o.integration, o.template)
                                 for found in occurrences.values() for o in found})
    recent = {code: [o for o in found if dag_id_for(o.integration, o.template) in readable]
              for code, found in occurrences.items()}
    recent = {code: found for code, found in recent.items() if found}
    known = {entry.code for entry in entries}
    entries += [catalog.describe(code) for code in sorted(recent) if code not in known]  # type: ignore[misc]
    shown = catalog.search(q or "", entries)
    if seen_only:
        shown = [entry for entry in shown if entry.code in recent]
    return {"entries": shown, "recent": recent, "total": len(entries), "q": q or "", "seen_only": seen_only,
            "per_code": RECENT_PER_CODE, "days": RECENT_DAYS}


@app.get("/errors", name="errors")
def errors_page(request: Request, q: str | None = None, seen: bool = False) -> Response:
    return render(request, "errors.html", **_catalog(request, q, seen), status_labels=STATUS_LABELS)


@app.get("/api/errors", name="errors_json")
def errors_json(request: Request, q: str | None = None, seen: bool = False) -> Response:
    found = _catalog(request, q, seen)

    def recent_runs(code: str) -> list[dict[str, Any]]:
        return [{"run_id": o.run.id, "integration": o.integration, "template": o.template, "status": o.run.status,
                 "started_at": o.run.started_at.isoformat(), "items": o.items}
                for o in found["recent"].get(code, [])[:RECENT_PER_CODE]]

    return JSONResponse({"total": found["total"], "errors": [
        {**asdict(entry), "recent_runs": recent_runs(entry.code)} for entry in found["entries"]]},
        headers=SECURITY_HEADERS)


# ---- static files (behind the same sign-in) ----------------------------------------------------------

@app.get("/static/{name}", name="static")
def static_file(name: str) -> Response:
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or path.suffix not in STATIC_TYPES or not path.is_file():
        return JSONResponse({"detail": "not found"}, status_code=404)
    return FileResponse(Path(path), media_type=STATIC_TYPES[path.suffix],
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"})


# ---- the routes that change something (registered on ``app`` by importing them) ---------------------

from . import alert_pages, mapping_pages, option_map_pages, reruns  # noqa: E402,F401  (they import app from here)
