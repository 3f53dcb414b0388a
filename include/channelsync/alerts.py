"""Alerts: one e-mail per run that needs a look, to the integration's distribution lists.

What needs a look (:func:`findings`): the run failed (a stage failed for good); items failed, or carry a
code the error catalog marks ``alert="email"`` (a stuck or invalid order, a margin under the floor, a
conflict); or the template recorded an alert row for the run (``alert_log`` with status ``logged``:
service_catalog_sync's price changes, submit_orders' stuck orders, health's outage and recovery). A
preview never alerts.

Who sends it:

- the **report** task of every template DAG calls :func:`notify_run` once the run is closed, so the
  message has the run's final status, counts and every failed item — one message per run, however many
  tasks, partitions or retries failed (Airflow calls failure callbacks only after the last retry);
- :func:`on_task_failure` therefore sends nothing for a template DAG's stage tasks (the report follows);
  it alerts for tasks no report follows (a crashed report, the watcher and maintenance DAGs), and
  :func:`on_dag_failure` for a DAG run that failed without a task failing (a timeout).

Deduplicated twice: per run (the alert log holds one message row per run; a second call finds it and
sends nothing), and across runs — what the previous run already reported is not sent again until
``alerts.repeat_hours`` have passed since the last message, while anything new (a new failure code, a
new failed item, a template's alert) is sent at once. So an outage checked every five minutes alerts
when it starts, reminds every few hours, and its recovery is one message more.

Every message is recorded in the alert log with its delivery status (``sent``, ``failed`` after the
retries, ``no_recipients``), the attempts made, the last refusal and when it was tried. A failed one is
composed again from the run's records and sent again: at once when the SMTP server takes the
integration's next alert, and otherwise by the next report of any of the integration's runs once a
backoff has passed (``RETRY_BACKOFF`` × the passes so far), for a day and at most
``MAX_DELIVERY_ATTEMPTS`` attempts. What is still not delivered stays ``failed`` on the plugin's Alerts
page and the dashboard's notice, so none is lost silently. Sending goes through Airflow's SMTP settings
(:mod:`channelsync.alert_mail`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from channelsync.alert_mail import Finding, RunAlert, severity_rank
from channelsync.errors import define

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from channelsync.config import IntegrationConfig
    from channelsync.state.models import AlertLog, SyncRun

log = logging.getLogger(__name__)

ALERT_DELIVERY_FAILED = define("ALERT_DELIVERY_FAILED", "channelsync",
                               "An alert e-mail could not be handed to the SMTP server")

# alert_log.status of a message row …
SENDING, SENT, FAILED, NO_RECIPIENTS = "sending", "sent", "failed", "no_recipients"
DONE = (SENDING, SENT, NO_RECIPIENTS)  # this run has (or is getting) its message
# … and of a template's alert row: recorded, then included in a message
LOGGED, EMAILED, EMAIL_FAILED = "logged", "emailed", "email_failed"
PENDING = (LOGGED, EMAIL_FAILED)
STAGE_TASKS = frozenset({"extract", "validate", "reconcile", "partitions", "load"})
STAGES = ("extract", "validate", "reconcile", "load", "report")
RETRY_FAILED_WITHIN = timedelta(hours=24)
MAX_DELIVERY_ATTEMPTS = 12  # four passes of alert_mail's three attempts; then it waits for a person
RETRY_BACKOFF = timedelta(minutes=10)  # after a refused pass, before a report (not an alert) tries again


def now_utc() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- the report task's call ---------------------------------------------------------------------------

def notify_run(integration: IntegrationConfig, template: str, run_id: int, *, state_url: str | None = None,
               failure: tuple[str, str] | None = None, now: datetime | None = None) -> str | None:
    """Send the run's alert if it needs one; returns the delivery status, or None when nothing was sent.

    ``failure`` (code, message): a failure the run row may not show yet (a report task that crashed)."""
    from channelsync import settings

    url = state_url or settings.state_url()
    now = now or now_utc()
    status = _notify(integration, template, run_id, url=url, failure=failure, now=now)
    if status == SENT:  # the SMTP server takes mail again: what it refused earlier goes now
        retry_failed(integration, state_url=url, now=now)
    elif status is None:  # nothing of this run to send: a refused message whose backoff has passed goes
        try:
            retry_failed(integration, state_url=url, now=now, due_only=True)
        except Exception:  # an earlier run's e-mail must not fail this run's report; the next one tries again
            log.warning("alerts: retrying the refused e-mails of %s failed", integration.name, exc_info=True)
    return status


def _notify(integration: IntegrationConfig, template: str, run_id: int, *, url: str,
            failure: tuple[str, str] | None, now: datetime) -> str | None:
    from channelsync.state.db import session_scope
    from channelsync.state.models import SyncRun

    _declare_outcomes(template)
    with session_scope(url) as session:
        run = session.get(SyncRun, run_id)
        if run is None or run.preview or _has_message(session, run_id):
            return None
        found, rows = findings(session, run, integration.name, failure=failure)
        if not found:
            return None
        previous = _previous_run(session, run)
        seen: set[tuple[str, ...]] = set()
        for earlier in findings(session, previous, integration.name)[0] if previous else []:
            seen |= earlier.keys
        for finding in found:
            finding.fresh = finding.event or bool(finding.keys - seen)
        new = [f for f in found if f.fresh]
        if not new and not _reminder_due(session, integration.name, template, integration.alerts.repeat_hours, now):
            log.info("run %s: %d finding(s), all reported already for an earlier run; no e-mail (repeat after %s h)",
                     run_id, len(found), integration.alerts.repeat_hours)
            return None
        alert = _run_alert(run, integration, found)
        row_ids = [row.id for row in rows]
        refused = _failed_message(session, run_id)  # a report run again: its refused message is the one to send
    return deliver(alert, state_url=url, row_ids=row_ids, retry_of=refused)


def findings(session: Session, run: SyncRun, integration: str, *, failure: tuple[str, str] | None = None
             ) -> tuple[list[Finding], list[AlertLog]]:
    """What in ``run`` needs a look, and the template's pending alert rows it includes."""
    from channelsync.error_catalog import UNEXPECTED_ERROR
    from channelsync.state.models import SyncItem

    found: list[Finding] = []
    if run.status == "failure" or failure is not None:
        code = (failure[0] if failure else run.error_code) or UNEXPECTED_ERROR
        message = (failure[1] if failure else run.error_message) or "a stage failed"
        found.append(Finding(code=code, severity="error", lines=[message], keys={("run", code)},
                             subject=_failure_subject(run.integration, run.template, code, message)))
    items = session.query(SyncItem).filter(SyncItem.run_id == run.id).order_by(SyncItem.id).all()
    flagged: dict[str, list[Any]] = {}
    for item in items:
        item_code = item.error_code or (UNEXPECTED_ERROR if _kind(item.outcome) == "failure" else None)
        if item_code and (_kind(item.outcome) == "failure" or _channel(item_code) == "email"):
            flagged.setdefault(item_code, []).append(item)
    rows = _pending_rows(session, run, integration)
    row_codes: dict[str | None, list[AlertLog]] = {}
    for row in rows:
        row_codes.setdefault(row.error_code, []).append(row)
    for item_code, grouped in flagged.items():
        covering = row_codes.pop(item_code, [])
        found.append(_item_finding(run, item_code, grouped, covering))
    for row_code, rows_of_code in row_codes.items():
        for row in rows_of_code:
            found.append(Finding(code=row_code, severity=row.severity or "warning", lines=[_unprefixed(row.subject)],
                                 subject=row.subject, keys={("event", str(row.id))}, event=True))
    return found, rows


def _item_finding(run: SyncRun, code: str, items: Sequence[Any], rows: Sequence[AlertLog]) -> Finding:
    from channelsync.alert_mail import EXAMPLES

    lines = [f"{item.source_key}: {item.error_message or item.outcome}" for item in items[:EXAMPLES]]
    if len(items) > EXAMPLES:
        lines.append(f"… and {len(items) - EXAMPLES} more on the status page")
    subject = rows[0].subject if len(rows) == 1 and len(items) == 1 else (
        f"[channelsync] {run.integration} {run.template}: {len(items)} item(s) need a look ({code})")
    # A template's alert row about these items (an outage: critical) says how much they matter.
    severity = max(["warning", *(row.severity or "warning" for row in rows)], key=severity_rank)
    return Finding(code=code, severity=severity, lines=lines, subject=subject, count=len(items),
                   keys={("item", code, str(item.source_key)) for item in items})


def _failure_subject(integration: str, template: str, code: str, message: str) -> str:
    stage = message.partition(":")[0].split(" ")[0]
    custom = _steps_subject(template, code, message)
    if custom:
        return f"[channelsync] {integration} {template}: {custom}"
    return f"[channelsync] {integration} {template}: {stage if stage in STAGES else 'run'} failed ({code})"


def _steps_subject(template: str, code: str, message: str) -> str | None:
    """A template may word its failure itself (``failure_subject(code, message)`` on its steps class):
    health says which system is down instead of "load failed"."""
    try:
        from channelsync.imports import load_object
        from channelsync.templates.registry import TEMPLATES

        spec = TEMPLATES.get(template)
        word = getattr(load_object(spec.steps), "failure_subject", None) if spec else None
        return word(code, message) if callable(word) else None
    except Exception:
        return None


def _unprefixed(subject: str) -> str:
    """A template's alert subject without its ``[channelsync] <integration> <template>: `` prefix."""
    if subject.startswith("[channelsync] ") and ": " in subject:
        return subject.partition(": ")[2]
    return subject


def _kind(outcome: str) -> str:
    from channelsync.runs import outcomes

    try:
        return outcomes.get(outcome).kind
    except outcomes.UnknownOutcome:
        return "warning"


def _channel(code: str) -> str:
    from channelsync.error_catalog import advice

    return advice(code).alert


def _declare_outcomes(template: str) -> None:
    """Templates declare their own outcomes (``posted``, ``stuck``, ``down``) in their steps module."""
    try:
        from channelsync.imports import load_object
        from channelsync.templates.registry import TEMPLATES

        spec = TEMPLATES.get(template.removesuffix("__watcher"))
        if spec is not None:
            load_object(spec.steps)
    except Exception:
        log.warning("alerts: could not load the steps of %s", template, exc_info=True)


def _has_message(session: Session, run_id: int) -> bool:
    from channelsync.state.models import AlertLog

    return session.query(AlertLog.id).filter(AlertLog.run_id == run_id, AlertLog.status.in_(DONE)).first() is not None


def _failed_message(session: Session, run_id: int) -> int | None:
    from channelsync.state.models import AlertLog

    found = (session.query(AlertLog.id).filter(AlertLog.run_id == run_id, AlertLog.status == FAILED)
             .order_by(AlertLog.id.desc()).first())
    return int(found[0]) if found else None


def _pending_rows(session: Session, run: SyncRun, integration: str) -> list[AlertLog]:
    """This run's alert rows not yet e-mailed; rows recorded without the run's id (submit_orders' stuck
    orders) belong to it when its template recorded them while it ran."""
    from sqlalchemy import and_, or_

    from channelsync.state.models import AlertLog

    return list(session.query(AlertLog).filter(
        AlertLog.status.in_(PENDING),
        or_(AlertLog.run_id == run.id,
            and_(AlertLog.run_id.is_(None), AlertLog.integration == integration, AlertLog.template == run.template,
                 AlertLog.created_at >= run.started_at)),
    ).order_by(AlertLog.id).all())


def _previous_run(session: Session, run: SyncRun) -> SyncRun | None:
    from channelsync.state.models import SyncRun

    return (session.query(SyncRun)
            .filter(SyncRun.integration == run.integration, SyncRun.template == run.template, SyncRun.id < run.id,
                    SyncRun.preview.is_(False), SyncRun.status != "running")
            .order_by(SyncRun.id.desc()).first())


def _reminder_due(session: Session, integration: str, template: str, repeat_hours: float, now: datetime) -> bool:
    from channelsync.state.models import AlertLog

    last = (session.query(AlertLog.created_at)
            .filter(AlertLog.integration == integration, AlertLog.template == template,
                    AlertLog.status.in_((SENT, NO_RECIPIENTS)))
            .order_by(AlertLog.id.desc()).first())
    return last is None or now - _aware(last[0]) >= timedelta(hours=repeat_hours)


def _run_alert(run: SyncRun, integration: IntegrationConfig, found: list[Finding]) -> RunAlert:
    headline = None
    try:
        from channelsync.ui.notes import headline as note_headline

        headline = note_headline(status=run.status, counts=dict(run.counts or {}), preview=bool(run.preview),
                                 error_code=run.error_code, error_message=run.error_message)
    except Exception:  # the words of the DAG-run note; the status alone will do
        headline = run.status
    return RunAlert(integration=integration.name, template=run.template,
                    recipients=integration.alerts.recipients(run.template), findings=found, run_id=run.id,
                    run_key=run.run_key, status=run.status, headline=headline, counts=dict(run.counts or {}),
                    started_at=_aware(run.started_at) if run.started_at else None,
                    finished_at=_aware(run.finished_at) if run.finished_at else None, duration_s=run.duration_s)


# -- delivery ------------------------------------------------------------------------------------------

def deliver(alert: RunAlert, *, state_url: str | None = None, row_ids: Iterable[int] = (),
            retry_of: int | None = None) -> str | None:
    """Record the message in the alert log, send it, record how that went. Per run only one caller sends:
    the message row is claimed first, and a claim with a lower id wins."""
    from channelsync import alert_mail, settings
    from channelsync.state.db import session_scope
    from channelsync.state.models import AlertLog

    url = state_url or settings.state_url()
    subject = alert_mail.subject(alert)
    top = alert.top()
    with session_scope(url) as session:
        if retry_of is not None:
            mine = session.get(AlertLog, retry_of)
            if mine is None or mine.status != FAILED:
                return None
            mine.status, mine.subject, mine.recipients = SENDING, subject[:300], list(alert.recipients)
            mine.severity, mine.error_code = alert.severity, top.code if top else None
        else:
            mine = AlertLog(integration=alert.integration, template=alert.template, run_id=alert.run_id,
                            error_code=top.code if top else None, severity=alert.severity,
                            recipients=list(alert.recipients), subject=subject[:300],
                            status=SENDING if alert.recipients else NO_RECIPIENTS)
            session.add(mine)
        session.flush()
        message_id = mine.id
    if alert.run_id is not None and retry_of is None and not _first_claim(url, alert.run_id, message_id):
        return None
    status, rows_status = NO_RECIPIENTS, NO_RECIPIENTS
    attempts, last_error = 0, None
    if alert.recipients:
        smtp = alert_mail.SmtpSettings.from_airflow()
        text = alert_mail.body(alert)
        reference = f"{alert.integration}-{alert.template}-{alert.run_id or message_id}"
        message = alert_mail.build_message(smtp, alert.recipients, subject, text, reference=reference)
        try:
            attempts = alert_mail.send(message, alert.recipients, smtp)
            status, rows_status = SENT, EMAILED
            log.info("alert e-mail sent to %s (%d attempt(s)): %s", ", ".join(alert.recipients), attempts, subject)
        except alert_mail.DeliveryFailed as exc:
            status, rows_status = FAILED, EMAIL_FAILED
            attempts, last_error = exc.attempts, str(exc)[:2000]
            log.error("[%s] alert e-mail to %s not delivered: %s; sent again after the next alert of %s goes out",
                      ALERT_DELIVERY_FAILED, ", ".join(alert.recipients), exc, alert.integration)
    else:
        log.warning("no alert e-mail for %s %s (alerts.emails is empty): %s", alert.integration, alert.template,
                    subject)
    with session_scope(url) as session:
        row = session.get(AlertLog, message_id)
        if row is not None:
            row.status = status
            if attempts:
                row.attempts = (row.attempts or 0) + attempts
                row.last_error, row.last_attempt_at = last_error, now_utc()
        for pending in session.query(AlertLog).filter(AlertLog.id.in_(list(row_ids))).all():
            pending.status, pending.run_id = rows_status, pending.run_id or alert.run_id
            pending.recipients = list(alert.recipients)
    return status


def _first_claim(url: str, run_id: int, message_id: int) -> bool:
    from channelsync.state.db import session_scope
    from channelsync.state.models import AlertLog

    with session_scope(url) as session:
        earlier = session.query(AlertLog.id).filter(AlertLog.run_id == run_id, AlertLog.status.in_(DONE),
                                                   AlertLog.id < message_id).first()
        if earlier is not None:
            session.query(AlertLog).filter(AlertLog.id == message_id).delete()
            log.info("run %s: another task is sending its alert; not sent twice", run_id)
            return False
    return True


def retry_failed(integration: IntegrationConfig, *, state_url: str, now: datetime | None = None,
                 due_only: bool = False) -> int:
    """Send again the integration's messages of the last day whose delivery failed (composed again from
    the run's records), each at most ``MAX_DELIVERY_ATTEMPTS`` attempts in all; ``due_only``: only those
    whose backoff since their last attempt has passed. Returns how many were sent now."""
    from channelsync.state.db import session_scope
    from channelsync.state.models import AlertLog, SyncRun

    now = now or now_utc()
    with session_scope(state_url) as session:
        failed = (session.query(AlertLog).filter(AlertLog.integration == integration.name, AlertLog.status == FAILED,
                                                 AlertLog.run_id.is_not(None),
                                                 AlertLog.attempts < MAX_DELIVERY_ATTEMPTS,
                                                 AlertLog.created_at >= now - RETRY_FAILED_WITHIN)
                  .order_by(AlertLog.id).limit(5).all())
        if due_only:
            failed = [m for m in failed if _retry_due(m, now)][:2]
        again: list[tuple[int, RunAlert, list[int]]] = []
        for message in failed:
            run = session.get(SyncRun, message.run_id)
            if run is None:
                continue
            found, included = findings(session, run, integration.name)  # its rows are email_failed: pending again
            if found:
                again.append((message.id, _run_alert(run, integration, found), [r.id for r in included]))
    sent = 0
    for message_id, alert, row_ids in again:
        sent += deliver(alert, state_url=state_url, row_ids=row_ids, retry_of=message_id) == SENT
    return sent


def _retry_due(message: AlertLog, now: datetime) -> bool:
    """A pass refused ``n`` times waits ``n`` × the backoff: an SMTP server down for hours is not asked
    by every report of every run."""
    if message.last_attempt_at is None:
        return True
    passes = max(1, (message.attempts or 0) // 3)
    return now - _aware(message.last_attempt_at) >= RETRY_BACKOFF * passes


# -- Airflow's failure callbacks ------------------------------------------------------------------------

def on_task_failure(context: Any) -> None:
    try:
        _from_context(context, dag_failed=False)
    except Exception:  # a callback must never hide the original failure
        log.exception("could not send the alert")


def on_dag_failure(context: Any) -> None:
    try:
        _from_context(context, dag_failed=True)
    except Exception:
        log.exception("could not send the alert")


def _identify(context: Any) -> tuple[str, str]:
    dag_id = context["dag"].dag_id if context.get("dag") else context["dag_run"].dag_id
    integration, _, template = dag_id.partition("__")
    return integration, template


def _from_context(context: Any, *, dag_failed: bool) -> None:
    from channelsync.error_catalog import DAG_RUN_FAILED
    from channelsync.templates.registry import TEMPLATES

    integration_name, template = _identify(context)
    ti = context.get("ti") or context.get("task_instance")
    task_id = getattr(ti, "task_id", None) if not dag_failed else None
    if task_id in STAGE_TASKS and template in TEMPLATES:
        log.info("%s failed; the run's report task sends its alert (one per run)", task_id)
        return
    error = context.get("exception")
    code = getattr(error, "code", None) or (type(error).__name__ if error else DAG_RUN_FAILED)
    message = getattr(error, "message", None) or (str(error) if error else str(context.get("reason") or "failed"))
    where = task_id or "run"
    dag_run = context.get("dag_run")
    run_key = f"{context['dag'].dag_id if context.get('dag') else dag_run.dag_id}/{getattr(dag_run, 'run_id', '')}"
    integration = _integration(integration_name)
    sync_run = _sync_run(integration_name, template, run_key) if template in TEMPLATES else None
    if integration is not None and sync_run is not None:
        notify_run(integration, template, sync_run, failure=(code, f"{where}: {message}"))
        return
    recipients = integration.alerts.recipients(template.removesuffix("__watcher")) if integration else _everyone()
    finding = Finding(code=code, severity="error", lines=[f"{where}: {message}"],
                      subject=f"[channelsync] {integration_name} {template or 'dag'}: {where} failed ({code})")
    deliver(RunAlert(integration=integration_name, template=template or integration_name, recipients=recipients,
                     findings=[finding], run_key=run_key, status="failure", headline=f"Failure — {where}: [{code}]"))


def _integration(name: str) -> IntegrationConfig | None:
    from channelsync import settings
    from channelsync.config import load_config

    try:
        return load_config(settings.config_path()).get(name)
    except Exception:
        return None


def _everyone() -> list[str]:
    """A DAG of no integration (maintenance): every integration's lists."""
    from channelsync import settings
    from channelsync.config import load_config

    try:
        config = load_config(settings.config_path())
    except Exception:
        return []
    return list(dict.fromkeys(address for i in config.integrations for address in i.alerts.emails))


def _sync_run(integration: str, template: str, run_key: str) -> int | None:
    from channelsync.state.db import session_scope
    from channelsync.state.models import SyncRun

    try:
        with session_scope() as session:
            found = session.query(SyncRun.id).filter(SyncRun.integration == integration, SyncRun.template == template,
                                                     SyncRun.run_key == run_key).first()
            return int(found[0]) if found else None
    except Exception:  # the state store itself may be what failed
        return None
