"""The alert log as the Alerts page and the dashboard's notice read it: the e-mails sent (or not) per run,
how many attempts each took, the last refusal (``channelsync.alerts`` retries a refused one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from channelsync.state.models import AlertLog
from channelsync.templates.dag_builder import dag_id_for
from channelsync.ui.cards import as_utc

# alert_log.status of a message (channelsync.alerts); the other rows are a template's alert rows
MESSAGE_STATUSES = ("sending", "sent", "failed", "no_recipients")
UNDELIVERED = "failed"
SHOWN = 500


@dataclass(frozen=True)
class Message:
    id: int
    integration: str
    template: str | None
    dag_id: str
    run_id: int | None
    error_code: str | None
    severity: str
    recipients: list[str]
    subject: str
    status: str
    created_at: datetime | None
    attempts: int
    last_error: str | None
    last_attempt_at: datetime | None


MAINTENANCE_DAG, DIGEST = "channelsync_maintenance", "digest"  # channelsync.digest.DIGEST: sent by maintenance


def dag_of(integration: str, template: str | None) -> str:
    """The DAG a message is about: a template's, the maintenance DAG's (its weekly digests), or (a DAG of no
    integration: template = integration) the DAG itself."""
    if template == DIGEST:
        return MAINTENANCE_DAG
    return integration if not template or template == integration else dag_id_for(integration, template)


def messages(session: Session, *, since: datetime, undelivered_only: bool = False) -> list[Message]:
    """The newest messages since ``since`` (at most ``SHOWN``), newest first."""
    query = (select(AlertLog).where(AlertLog.created_at >= since,
                                    AlertLog.status.in_((UNDELIVERED,) if undelivered_only else MESSAGE_STATUSES))
             .order_by(AlertLog.id.desc()).limit(SHOWN))
    return [Message(id=row.id, integration=row.integration, template=row.template,
                    dag_id=dag_of(row.integration, row.template), run_id=row.run_id, error_code=row.error_code,
                    severity=row.severity, recipients=list(row.recipients or []), subject=row.subject,
                    status=row.status, created_at=as_utc(row.created_at), attempts=int(row.attempts or 0),
                    last_error=row.last_error, last_attempt_at=as_utc(row.last_attempt_at))
            for row in session.scalars(query)]
