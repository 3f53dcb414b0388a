"""Category mappings (catalog_sync) and service overrides (subscription_billing) of one integration: the
integrations file's ``category_map`` / ``service_overrides`` overlaid by the entries saved here
(``channelsync.effective_maps``: an entry here wins over the file, an excluded key is not used even if
the file has it, removing the entry gives the key back to the file).

- ``GET /mappings/{integration}/categories`` (``/services``): every key of the file, of the state store
  and of the latest run (categories: the codes it extracted, with their products; services: the SKUs it
  could not bill, unmapped first), with the effective value and where it comes from; ``?code=`` (``sku=``)
  opens that key's page (to add one); ``?known=1`` TD SYNNEX's category list (read when asked);
- ``GET /mappings/{integration}/categories/{code}`` (``/services/{sku}``): the key, its edit form and its
  history (the audit rows: who, when, before → after); ``?psa=1`` the PSA's categories, ``?find=`` a search
  of the PSA's services (read when asked, to fill in the form);
- ``POST`` on the same address: ``action`` save, preview (save, then trigger a preview run of the DAG as
  the user), exclude, remove.

Viewing needs read access to the template's DAG; a change needs edit access to it (PUT, as a customer
mapping does), "save and preview" also the right to trigger it (POST). Each change is audited under the
Airflow user's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from channelsync.effective_maps import file_map
from channelsync.state import option_maps as store
from channelsync.state.db import session_scope
from channelsync.templates.dag_builder import dag_id_for
from channelsync.ui import mappings as customer_views
from channelsync.ui import option_maps as views

from .airflow_api import AirflowApi, Answer
from .app import _not_found, _wants_html, app, state_url
from .mapping_tabs import integration_with, tabs
from .security import EDIT_DAG, TRIGGER, access, checked_form
from .views import SECURITY_HEADERS, Urls, render

CheckedForm = Annotated[FormData, Depends(checked_form)]
ACTIONS = ("save", "preview", "exclude", "remove")


@dataclass(frozen=True)
class Page:
    kind: store.MapKind
    tab: str  # the tab (mapping_tabs.TABS) and the address segment
    title: str
    param: str  # the list page's parameter naming a key to open


CATEGORY_PAGE = Page(store.CATEGORIES, "categories", "Category mappings", "code")
SERVICE_PAGE = Page(store.SERVICES, "services", "Service overrides", "sku")


def _integration(request: Request, page: Page, name: str) -> Any | None:
    """The configured integration with the page's template, after the read check; None: not one."""
    found = integration_with(name, page.kind.template)
    if found is not None:
        access(request).require(dag_id_for(name, page.kind.template))
    return found


def _missing(request: Request, page: Page, name: str) -> Response:
    return _not_found(request, f"{name} is not an integration with {page.kind.template} in the integrations file")


def _reason(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


def _run(integration: str, template: str) -> tuple[Any, str | None]:
    from channelsync.ui.queries import brief

    with session_scope(state_url()) as session:
        run = views.latest_run(session, integration, template)
        return (brief(run), run.plan_path) if run is not None else (None, None)


def _rows(page: Page, integration: Any) -> tuple[list[views.MapRow], Any]:
    run, plan_path = _run(integration.name, page.kind.template)
    entries = store.entries(state_url(), page.kind, integration.name)
    rows = views.map_rows(page.kind, file_map(integration, page.kind), entries, views.seen_keys(page.kind, plan_path))
    return rows, run


def _common(request: Request, page: Page, integration: Any) -> dict[str, Any]:
    dag_id = dag_id_for(integration.name, page.kind.template)
    allowed = access(request)
    return {"page": page, "kind": page.kind, "integration": integration.name, "tabs": tabs(request, integration),
            "dag_id": dag_id, "may_edit": allowed.may(EDIT_DAG, dag_id), "may_preview": allowed.may(TRIGGER, dag_id),
            "base": f"/mappings/{integration.name}/{page.tab}"}


def _lookup(integration: Any, read: str, *args: Any) -> tuple[Any, str | None]:
    """One read of the integration's systems a person asked for: (what it found, or why it could not)."""
    from channelsync.ui.option_lookups import Lookups

    lookups = Lookups(integration)
    try:
        return getattr(lookups, read)(*args), None
    except Exception as exc:  # the system is down or refuses: the page still shows
        return None, _reason(exc)
    finally:
        lookups.release_slots()


# ---- one integration's map ---------------------------------------------------------------------------

def _list_page(request: Request, page: Page, name: str, key: str | None, known: bool) -> Response:
    found = _integration(request, page, name)
    if found is None:
        return _missing(request, page, name)
    if key and key.strip():  # the "add or edit" form: open that key's page
        return RedirectResponse(Urls(request).page(f"/mappings/{name}/{page.tab}/{_quoted(key.strip())}"),
                                status_code=302)
    rows, run = _rows(page, found)
    distributor, lookup_error = _lookup(found, "distributor_categories") if known and page is CATEGORY_PAGE \
        else (None, None)
    shown = {row.key for row in rows}
    return render(request, "option_maps.html", **_common(request, page, found), rows=rows, run=run,
                  stored=sum(1 for r in rows if r.entry is not None), todo=sum(1 for r in rows if r.needs_mapping),
                  known=None if distributor is None else {c: d for c, d in distributor.items() if c not in shown},
                  lookup_error=lookup_error)


def _list_json(request: Request, page: Page, name: str) -> Response:
    found = _integration(request, page, name)
    if found is None:
        return _missing(request, page, name)
    rows, run = _rows(page, found)
    return JSONResponse({"integration": name, "kind": page.kind.name, "latest_run": run.id if run else None,
                         "effective": {r.key: r.effective for r in rows if r.effective is not None},
                         "keys": [r.as_dict() for r in rows]}, headers=SECURITY_HEADERS)


# ---- one key -----------------------------------------------------------------------------------------

def _key_context(request: Request, page: Page, integration: Any, text: str) -> dict[str, Any] | Response:
    try:
        key = store.clean_key(page.kind, text)
    except store.MapEntryError as exc:
        return _not_found(request, str(exc))
    rows, run = _rows(page, integration)
    row = next((r for r in rows if r.key == key), None) or views.MapRow(key=key, overlaid=None, seen=None)
    history = list(reversed(store.history(state_url(), page.kind, integration.name, key)))  # newest first
    for entry in history:
        entry["changes"] = customer_views.history_changes(entry["before"], entry["after"])
    return {**_common(request, page, integration), "key": key, "row": row, "run": run, "history": history,
            "here": f"/mappings/{integration.name}/{page.tab}/{_quoted(key)}"}


def _key_page(request: Request, page: Page, name: str, key: str, psa: bool, find: str | None,
              value: str | None) -> Response:
    found = _integration(request, page, name)
    if found is None:
        return _missing(request, page, name)
    context = _key_context(request, page, found, key)
    if isinstance(context, Response):
        return context
    choices, lookup_error = None, None
    if psa and page is CATEGORY_PAGE:
        choices, lookup_error = _lookup(found, "psa_categories")
    elif find is not None and page is SERVICE_PAGE:
        choices, lookup_error = _lookup(found, "psa_services", find)
    row = context["row"]
    current = (row.entry.value if row.entry else None) or row.effective or ""
    return render(request, "option_map.html", **context, choices=choices, lookup_error=lookup_error, find=find or "",
                  value=value if value is not None else current, prefilled=value is not None and value != current,
                  error=None, saved=None, trigger=None)


def _key_json(request: Request, page: Page, name: str, key: str) -> Response:
    found = _integration(request, page, name)
    if found is None:
        return _missing(request, page, name)
    context = _key_context(request, page, found, key)
    if isinstance(context, Response):
        return context
    return JSONResponse({**context["row"].as_dict(),
                         "history": [{k: v for k, v in e.items() if k != "changes"} for e in context["history"]]},
                        headers=SECURITY_HEADERS)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _change(request: Request, page: Page, name: str, key: str, form: FormData) -> Response:
    found = _integration(request, page, name)
    if found is None:
        return _missing(request, page, name)
    dag_id = dag_id_for(name, page.kind.template)
    allowed = access(request)
    action = _field(form, "action").strip() or "save"
    allowed.require_change(EDIT_DAG, dag_id)
    if action == "preview":
        allowed.require_change(TRIGGER, dag_id)
    value = " ".join(_field(form, "value").split())
    done, error, status = None, None, 200
    try:
        if action not in ACTIONS:
            raise store.MapEntryError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
        if action == "exclude":
            done = store.exclude_entry(state_url(), page.kind, name, key, by=allowed.username)
        elif action == "remove":
            done = store.remove_entry(state_url(), page.kind, name, key, by=allowed.username)
        else:
            done = store.set_entry(state_url(), page.kind, name, key, value, by=allowed.username)
    except store.MapEntryError as exc:  # refused: nothing saved
        error, status = _reason(exc), 404 if isinstance(exc, store.MapEntryNotFound) else 400
    context = _key_context(request, page, found, key)
    if isinstance(context, Response):
        return context
    trigger: Answer | None = None
    if error is None and action == "preview":
        with AirflowApi.as_user(request) as api:
            trigger = api.trigger(dag_id, {"preview": True})
        if not trigger.ok:
            status = trigger.status if 400 <= trigger.status < 500 else 502
    row = context["row"]
    if not _wants_html(request):
        return JSONResponse({"saved": error is None, "action": done, "error": error, **row.as_dict(),
                             "airflow": None if trigger is None else {"method": trigger.method, "path": trigger.path,
                                                                      "status": trigger.status, "body": trigger.body}},
                            status_code=status, headers=SECURITY_HEADERS)
    current = (row.entry.value if row.entry else None) or row.effective or ""
    return render(request, "option_map.html", status_code=status, **context, choices=None, lookup_error=None,
                  find="", value=value if error else current, prefilled=False, error=error,
                  saved=None if error else {"action": done}, trigger=trigger)


def _quoted(key: str) -> str:
    from urllib.parse import quote

    return quote(key, safe=":")


# ---- the routes: categories (catalog_sync) -----------------------------------------------------------

@app.get("/mappings/{integration}/categories", name="category_maps")
def category_maps(request: Request, integration: str, code: str | None = None, known: bool = False) -> Response:
    return _list_page(request, CATEGORY_PAGE, integration, code, known)


@app.get("/api/mappings/{integration}/categories", name="category_maps_json")
def category_maps_json(request: Request, integration: str) -> Response:
    return _list_json(request, CATEGORY_PAGE, integration)


@app.get("/mappings/{integration}/categories/{code}", name="category_map")
def category_map(request: Request, integration: str, code: str, psa: bool = False,
                 value: str | None = None) -> Response:
    return _key_page(request, CATEGORY_PAGE, integration, code, psa, None, value)


@app.get("/api/mappings/{integration}/categories/{code}", name="category_map_json")
def category_map_json(request: Request, integration: str, code: str) -> Response:
    return _key_json(request, CATEGORY_PAGE, integration, code)


@app.post("/mappings/{integration}/categories/{code}", name="category_map_save")
def category_map_save(request: Request, integration: str, code: str, form: CheckedForm) -> Response:
    return _change(request, CATEGORY_PAGE, integration, code, form)


# ---- the routes: service overrides (subscription_billing); a SKU may hold a "/" ------------------------

@app.get("/mappings/{integration}/services", name="service_maps")
def service_maps(request: Request, integration: str, sku: str | None = None) -> Response:
    return _list_page(request, SERVICE_PAGE, integration, sku, False)


@app.get("/api/mappings/{integration}/services", name="service_maps_json")
def service_maps_json(request: Request, integration: str) -> Response:
    return _list_json(request, SERVICE_PAGE, integration)


@app.get("/mappings/{integration}/services/{sku:path}", name="service_map")
def service_map(request: Request, integration: str, sku: str, find: str | None = None,
                value: str | None = None) -> Response:
    return _key_page(request, SERVICE_PAGE, integration, sku, False, find, value)


@app.get("/api/mappings/{integration}/services/{sku:path}", name="service_map_json")
def service_map_json(request: Request, integration: str, sku: str) -> Response:
    return _key_json(request, SERVICE_PAGE, integration, sku)


@app.post("/mappings/{integration}/services/{sku:path}", name="service_map_save")
def service_map_save(request: Request, integration: str, sku: str, form: CheckedForm) -> Response:
    return _change(request, SERVICE_PAGE, integration, sku, form)
