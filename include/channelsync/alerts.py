"""Failure callbacks of every channelsync DAG.

This wave records each failure in the state store's alert log (integration, template, error code,
recipients from the integration's ``alerts.emails``) and logs it; sending the e-mail and the error
catalog's advice belong to the operations work, which reads the same rows.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def _identify(context: Any) -> tuple[str, str]:
    dag_id = context["dag"].dag_id if context.get("dag") else context["dag_run"].dag_id
    integration, _, template = dag_id.partition("__")
    return integration, template


def on_task_failure(context: Any) -> None:
    try:
        _record(context, severity="error")
    except Exception:  # a callback must never hide the original failure
        log.exception("could not record the alert")


def on_dag_failure(context: Any) -> None:
    try:
        _record(context, severity="critical")
    except Exception:
        log.exception("could not record the alert")


def _record(context: Any, *, severity: str) -> None:
    from channelsync import settings
    from channelsync.config import load_config
    from channelsync.state.db import session_scope
    from channelsync.state.models import AlertLog

    integration, template = _identify(context)
    error = context.get("exception")
    code = getattr(error, "code", None) or (type(error).__name__ if error else "DAG_RUN_FAILED")
    try:
        recipients = list(load_config(settings.config_path()).get(integration).alerts.emails)
    except Exception:
        recipients = []
    ti = context.get("ti") or context.get("task_instance")
    task_id = getattr(ti, "task_id", "dag")
    subject = f"[channelsync] {integration} {template}: {task_id} failed ({code})"
    with session_scope() as session:
        session.add(AlertLog(integration=integration, template=template, error_code=code, severity=severity,
                             recipients=recipients, subject=subject[:300], status="logged"))
    log.error("%s: %s", subject, error)
