"""Customer mappings of subscription billing: who is billed to which PSA company and contract.

- ``GET /mappings``: the integrations with a mapping the user may read (customer mappings and service
  overrides of subscription_billing, category mappings of catalog_sync: ``mapping_tabs.py``; the latter
  two are ``option_map_pages.py``);
- ``GET /mappings/{integration}``: every customer — mapped ones, and those the latest billing run saw in
  its items and invoice lines (unmapped first) — with ``?suggest=1`` the best PSA company for each
  unmapped one (a proposal: a link to the edit form, never saved by itself);
- ``GET /mappings/{integration}/customers/{key}``: the mapping, its edit form, its history (the audit
  rows: who, when, before → after); ``?suggest=1`` suggestions, ``?find=`` a search of the PSA's
  companies, ``?company=`` (and ``contract=``) prefill the form and list the company's contracts;
- ``POST`` on the same address: save, or save and sync now.

A save checks the mapping against the distributor and the PSA with the CLI's own code
(``channelsync.mapping_edit``) and is audited under the Airflow user's name. Switching only the sync
switch reads no system. "Save and sync now" then triggers the billing DAG for the customer's invoice
(``invoice_id`` param, from the latest run's lines) through Airflow's REST API with the user's token.
Viewing needs read access to the integration's billing DAG; saving needs edit access to it (PUT), and
syncing also the right to trigger it (POST).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from channelsync.state.db import session_scope
from channelsync.templates.dag_builder import dag_id_for
from channelsync.ui import mappings as views

from .airflow_api import AirflowApi, Answer
from .app import _not_found, _wants_html, app, load_config, paused_by_dag, state_url
from .mapping_tabs import index, tabs
from .security import EDIT_DAG, TRIGGER, access, checked_form
from .views import SECURITY_HEADERS, render

CheckedForm = Annotated[FormData, Depends(checked_form)]
BILLING = views.BILLING


def _billing_integrations() -> list[Any]:
    config, _ = load_config()
    return [i for i in (config.integrations if config else [])
            if BILLING in i.templates and i.templates[BILLING].enabled]


def _integration(request: Request, name: str) -> Any | None:
    """The configured integration with subscription_billing, after the read check; None: not one."""
    found = next((i for i in _billing_integrations() if i.name == name), None)
    if found is not None:
        access(request).require(dag_id_for(name, BILLING))
    return found


def _missing(request: Request, name: str) -> Response:
    return _not_found(request, f"{name} is not an integration with subscription_billing in the integrations file")


def _today() -> date:
    return datetime.now(UTC).date()


def _customers(integration: str) -> tuple[list[views.CustomerRow], Any]:
    from channelsync.state.mappings import list_mappings

    url = state_url()
    with session_scope(url) as session:
        run = views.latest_run(session, integration)
        in_run = views.run_customers(session, run.id) if run is not None else {}
        brief = None
        if run is not None:
            from channelsync.ui.queries import brief as run_brief

            brief = run_brief(run)
        plan_path = run.plan_path if run is not None else None
    lines = views.line_summaries(views.staged_lines(plan_path))
    return views.customer_rows(list_mappings(url, integration), in_run, lines), brief


def _editor(integration: Any) -> Any:
    from channelsync.mapping_edit import MappingEditor

    return MappingEditor(integration, state_url())


# ---- the integrations --------------------------------------------------------------------------------

@app.get("/mappings", name="mappings_index")
def mappings_index(request: Request) -> Response:
    return render(request, "mappings_index.html", integrations=index(request))


# ---- one integration's customers ---------------------------------------------------------------------

def _row_json(row: views.CustomerRow) -> dict[str, Any]:
    return {"key": row.key, "customer_name": row.customer_name, "status": row.status,
            "psa_company_id": (row.mapping or {}).get("psa_company_id"),
            "psa_contract_id": (row.mapping or {}).get("psa_contract_id"),
            "sync_enabled": (row.mapping or {}).get("sync_enabled"),
            "updated_by": (row.mapping or {}).get("updated_by"), "updated_at": (row.mapping or {}).get("updated_at"),
            "latest_run": None if row.in_run is None else {"outcome": row.in_run.outcome, "items": row.in_run.items,
                                                           "error_code": row.in_run.error_code},
            "invoices": row.lines.invoices if row.lines else [], "lines": row.lines.lines if row.lines else 0,
            "total": row.lines.total if row.lines else None}


@app.get("/mappings/{integration}", name="mappings")
def mappings_page(request: Request, integration: str, show: str = "all", suggest: bool = False) -> Response:
    found = _integration(request, integration)
    if found is None:
        return _missing(request, integration)
    rows, run = _customers(integration)
    shown = [r for r in rows if r.needs_mapping] if show == "todo" else rows
    suggestions: dict[str, dict[str, Any]] = {}
    suggest_error = None
    wanted = [r for r in rows if r.needs_mapping]
    if suggest and wanted:
        editor = _editor(found)
        try:
            customers = [{"distributor": r.distributor, "account": r.account, "customer_id": r.customer_id,
                          "customer_name": r.customer_name,
                          "customer_domain": r.lines.customer_domain if r.lines else None} for r in wanted]
            for row in editor.suggestions(customers, on=_today(), limit=1):
                suggestions.setdefault(row["key"], row)
        except Exception as exc:  # the PSA is down or refuses: the list still shows
            suggest_error = _reason(exc)
        finally:
            editor.release_slots()
    dag_id = dag_id_for(integration, BILLING)
    return render(request, "mappings.html", integration=integration, tabs=tabs(request, found), rows=shown,
                  total=len(rows),
                  todo=sum(1 for r in rows if r.needs_mapping), show=show, run=run, suggest=suggest,
                  suggestions=suggestions, suggest_error=suggest_error, dag_id=dag_id,
                  may_edit=access(request).may(EDIT_DAG, dag_id))


@app.get("/api/mappings/{integration}", name="mappings_json")
def mappings_json(request: Request, integration: str) -> Response:
    found = _integration(request, integration)
    if found is None:
        return _missing(request, integration)
    rows, run = _customers(integration)
    return JSONResponse({"integration": integration, "latest_run": run.id if run else None,
                         "customers": [_row_json(r) for r in rows]}, headers=SECURITY_HEADERS)


# ---- one customer ------------------------------------------------------------------------------------

def _reason(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


def _customer_context(request: Request, integration: Any, key_text: str) -> dict[str, Any] | Response:
    from channelsync.state.mappings import CustomerKey, MappingError, get_mapping, mapping_history

    try:
        key = CustomerKey.parse(key_text)
    except MappingError as exc:
        return _not_found(request, str(exc))
    url = state_url()
    rows, run = _customers(integration.name)
    row = next((r for r in rows if r.key == str(key)), None)
    history = list(reversed(mapping_history(url, integration.name, key)))  # newest first
    for entry in history:
        entry["changes"] = views.history_changes(entry["before"], entry["after"])
    dag_id = dag_id_for(integration.name, BILLING)
    allowed = access(request)
    return {"integration": integration.name, "tabs": tabs(request, integration), "key": str(key), "row": row,
            "run": run,
            "mapping": get_mapping(url, integration.name, key), "history": history, "dag_id": dag_id,
            "may_edit": allowed.may(EDIT_DAG, dag_id), "may_sync": allowed.may(TRIGGER, dag_id),
            "paused": paused_by_dag([dag_id]).get(dag_id, False), "today": _today().isoformat()}


def _lookups(integration: Any, key: str, *, suggest: bool, find: str | None, company: str | None,
             on: date) -> dict[str, Any]:
    """What the person asked the PSA for (nothing unless asked): suggestions, a company search, the
    contracts of the company in the form."""
    found: dict[str, Any] = {"suggestions": None, "companies": None, "contracts": None, "contract_kind": None,
                             "lookup_error": None}
    if not (suggest or find or company):
        return found
    editor = _editor(integration)
    try:
        if suggest:
            found["suggestions"] = editor.suggestions([editor.customer(editor.key(key))], on=on, limit=5)
        if find:
            found["companies"] = editor.find_companies(find)
        if company:
            found["contracts"] = editor.eligible_contracts(company, on=on)
            found["contract_kind"] = editor.contract_kind()
    except Exception as exc:
        found["lookup_error"] = _reason(exc)
    finally:
        editor.release_slots()
    return found


def _form_values(mapping: dict[str, Any] | None, **given: Any) -> dict[str, Any]:
    values = {"company": (mapping or {}).get("psa_company_id") or "",
              "contract": (mapping or {}).get("psa_contract_id") or "",
              "sync": bool((mapping or {}).get("sync_enabled", True))}
    values.update({k: v for k, v in given.items() if v is not None})
    return values


@app.get("/mappings/{integration}/customers/{key}", name="mapping")
def mapping_page(request: Request, integration: str, key: str, suggest: bool = False, find: str | None = None,
                 company: str | None = None, contract: str | None = None, on: str | None = None) -> Response:
    found = _integration(request, integration)
    if found is None:
        return _missing(request, integration)
    context = _customer_context(request, found, key)
    if isinstance(context, Response):
        return context
    day = _parse_day(on) or _today()
    prefilled = company is not None and company != (context["mapping"] or {}).get("psa_company_id")
    lookups = _lookups(found, context["key"], suggest=suggest, find=(find or "").strip() or None,
                       company=(company or "").strip() or None, on=day)
    return render(request, "mapping.html", **context, **lookups, find=find or "", on=day.isoformat(),
                  form=_form_values(context["mapping"], company=company,
                                    contract=(contract or "") if company is not None else None),
                  prefilled=prefilled, error=None, saved=None, conflicts=[], trigger=None, sync_note=None)


@app.get("/api/mappings/{integration}/customers/{key}", name="mapping_json")
def mapping_json(request: Request, integration: str, key: str) -> Response:
    found = _integration(request, integration)
    if found is None:
        return _missing(request, integration)
    context = _customer_context(request, found, key)
    if isinstance(context, Response):
        return context
    return JSONResponse({"key": context["key"], "mapping": context["mapping"],
                         "customer": _row_json(context["row"]) if context["row"] else None,
                         "history": [{k: v for k, v in e.items() if k != "changes"} for e in context["history"]]},
                        headers=SECURITY_HEADERS)


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return " ".join(value.split()) if isinstance(value, str) else ""


@app.post("/mappings/{integration}/customers/{key}", name="mapping_save")
def mapping_save(request: Request, integration: str, key: str, form: CheckedForm) -> Response:
    found = _integration(request, integration)
    if found is None:
        return _missing(request, integration)
    dag_id = dag_id_for(integration, BILLING)
    allowed = access(request)
    sync_now = _field(form, "action") == "sync"
    allowed.require_change(EDIT_DAG, dag_id)
    if sync_now:
        allowed.require_change(TRIGGER, dag_id)
    company, contract = _field(form, "company"), _field(form, "contract") or None
    sync_enabled = _field(form, "sync") == "on"
    day = _parse_day(_field(form, "on")) or _today()
    saved, error, conflicts, status = None, None, [], 200
    from channelsync.adapters.psa_companies import MappingTargetInvalid
    from channelsync.state.mappings import MappingError, get_mapping, set_sync

    editor = _editor(found)
    try:

        customer_key = editor.key(key)
        current = get_mapping(state_url(), integration, customer_key)
        if current is not None and company == (current["psa_company_id"] or "") and \
                (contract or "") == (current["psa_contract_id"] or ""):
            # Same target: only the switch may change, and a switch needs no system's say-so.
            saved = set_sync(state_url(), integration, customer_key, sync_enabled, allowed.username)
            what = f"{customer_key} sync {'on' if sync_enabled else 'off'}"
        else:
            target = editor.check(customer_key, company, contract, on=day)
            saved = editor.save(target, sync_enabled=sync_enabled, by=allowed.username)
            what = target.describe(sync_enabled=sync_enabled)
            conflicts = editor.conflicts(customer_key, target.tenant)
    except (MappingError, MappingTargetInvalid) as exc:  # refused by the checks: nothing saved
        error, status, what = _reason(exc), 400, ""
    except Exception as exc:  # a system could not be asked (down, refused the login): nothing saved
        error, status, what = f"could not check the mapping: {_reason(exc)}", 502, ""
    finally:
        editor.release_slots()
    context = _customer_context(request, found, key)
    if isinstance(context, Response):
        return context
    trigger, sync_note = None, None
    if error is None and sync_now:
        trigger, sync_note = _sync_now(request, integration, context)
        if trigger is not None and not trigger.ok:
            status = trigger.status if 400 <= trigger.status < 500 else 502
    if not _wants_html(request):
        return JSONResponse({"saved": error is None, "action": saved, "what": what, "error": error,
                             "conflicts": conflicts, "mapping": context["mapping"], "sync_note": sync_note,
                             "airflow": None if trigger is None else {"method": trigger.method, "path": trigger.path,
                                                                      "status": trigger.status, "body": trigger.body}},
                            status_code=status, headers=SECURITY_HEADERS)
    values = _form_values(context["mapping"]) if error is None else \
        {"company": company, "contract": contract or "", "sync": sync_enabled}
    return render(request, "mapping.html", status_code=status, **context, suggestions=None, companies=None,
                  contracts=None, contract_kind=None, lookup_error=None, find="", on=day.isoformat(), form=values,
                  prefilled=False, error=error, saved={"action": saved, "what": what} if error is None else None,
                  conflicts=conflicts, trigger=trigger, sync_note=sync_note)


def _sync_now(request: Request, integration: str, context: dict[str, Any]) -> tuple[Answer | None, str | None]:
    """Trigger the billing DAG for the customer's invoice(s), as the user; or say why not."""
    mapping = context["mapping"] or {}
    if not mapping.get("sync_enabled"):
        return None, "the customer's sync is off: nothing would be billed, so no run was triggered"
    row = context["row"]
    invoices = row.lines.invoices if row is not None and row.lines is not None else []
    conf = {"invoice_id": ",".join(invoices)} if invoices else {}
    with AirflowApi.as_user(request) as api:
        answer = api.trigger(context["dag_id"], conf)
    note = (f"billing {', '.join(invoices)} again (the whole invoice: customers already posted make 0 writes)"
            if invoices else "no invoice of this customer in the latest run: the run bills the latest period")
    if context["paused"]:
        note += "; the DAG is paused in Airflow, so the run waits until it is unpaused"
    return answer, note

