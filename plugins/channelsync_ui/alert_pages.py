"""The Alerts page: every alert e-mail of the last days per DAG the user may read — to whom, its delivery
status, the attempts made and the SMTP server's last refusal (``channelsync.alerts`` sends a refused one
again; what is still not delivered is listed here and noticed on the dashboard)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from channelsync.state.db import session_scope
from channelsync.ui import alert_log

from .app import app, state_url
from .security import access
from .views import SECURITY_HEADERS, render

ALERT_DAYS = 7
NOTICE_HOURS = 24


def readable_messages(request: Request, *, since: datetime, undelivered_only: bool = False
                      ) -> list[alert_log.Message]:
    with session_scope(state_url()) as session:
        found = alert_log.messages(session, since=since, undelivered_only=undelivered_only)
    readable = access(request).readable({m.dag_id for m in found})
    return [m for m in found if m.dag_id in readable]


def undelivered(request: Request) -> list[alert_log.Message]:
    """The dashboard's notice: messages of the last day still not delivered after their retries."""
    return readable_messages(request, since=datetime.now(UTC) - timedelta(hours=NOTICE_HOURS), undelivered_only=True)


def _found(request: Request, status: str | None) -> dict[str, Any]:
    since = datetime.now(UTC) - timedelta(days=ALERT_DAYS)
    shown = readable_messages(request, since=since, undelivered_only=status == alert_log.UNDELIVERED)
    return {"messages": shown, "days": ALERT_DAYS, "status": status or "",
            "undelivered": sum(1 for m in shown if m.status == alert_log.UNDELIVERED)}


@app.get("/alerts", name="alerts")
def alerts_page(request: Request, status: str | None = None) -> Response:
    return render(request, "alerts.html", **_found(request, status))


@app.get("/api/alerts", name="alerts_json")
def alerts_json(request: Request, status: str | None = None) -> Response:
    found = _found(request, status)

    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return JSONResponse({"days": found["days"], "messages": [
        {"id": m.id, "integration": m.integration, "template": m.template, "dag_id": m.dag_id, "run_id": m.run_id,
         "error_code": m.error_code, "severity": m.severity, "recipients": m.recipients, "subject": m.subject,
         "status": m.status, "created_at": when(m.created_at), "attempts": m.attempts, "last_error": m.last_error,
         "last_attempt_at": when(m.last_attempt_at)} for m in found["messages"]]}, headers=SECURITY_HEADERS)
