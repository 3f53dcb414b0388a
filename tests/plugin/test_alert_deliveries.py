"""A refused alert e-mail is recorded with its attempts and the refusal, sent again by a later run's
report once its backoff has passed (bounded), and listed as not delivered until then — against a real
SMTP server on loopback (aiosmtpd) that refuses, then accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from channelsync import alerts
from channelsync.alerts import notify_run
from channelsync.config import load_config
from channelsync.state import repository
from channelsync.state.db import session_scope, upgrade
from channelsync.state.models import AlertLog
from channelsync.ui import alert_log
from tests.e2e.smtp_sink import Sink

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = load_config(ROOT / "config" / "integrations.yaml").get("demo-connectwise")


@pytest.fixture()
def state(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    upgrade(url)
    return url


def closed_run(url: str, template: str, key: str, *, error: tuple[str, str] | None = None) -> int:
    run_id = repository.start_run(url, integration=INTEGRATION.name, template=template, run_key=f"{template}/{key}",
                                  preview=False)
    if error:
        repository.record_error(url, run_id, error_code=error[0], error_message=error[1])
    repository.finish_run(url, run_id, status="failure" if error else "success", counts={},
                          clear_error=error is None)
    return run_id


def messages(url: str) -> list[AlertLog]:
    with session_scope(url) as session:
        return list(session.scalars(select(AlertLog).order_by(AlertLog.id)))


def test_a_refused_alert_is_recorded_then_retried_by_a_later_report_after_its_backoff(state: str, mail: Sink) -> None:
    mail.refuse_next(3)  # alert_mail's three attempts, all refused
    refused = closed_run(state, "order_status", "1", error=("TDS_UNREACHABLE", "extract: TDS_UNREACHABLE (test)"))
    assert notify_run(INTEGRATION, "order_status", refused, state_url=state) == "failed"
    (row,) = messages(state)
    assert (row.status, row.attempts, row.last_attempt_at is not None) == ("failed", 3, True)
    assert row.last_error and "SMTP 127.0.0.1:" in row.last_error
    with session_scope(state) as session:  # what the Alerts page and the dashboard's notice list
        (listed,) = alert_log.messages(session, since=datetime.now(UTC) - timedelta(hours=1), undelivered_only=True)
    assert (listed.id, listed.attempts, listed.dag_id) == (row.id, 3, "demo-connectwise__order_status")

    # a run with nothing to alert reports within the backoff: the refused one waits
    fine = closed_run(state, "catalog_sync", "2")
    soon = datetime.now(UTC) + alerts.RETRY_BACKOFF / 2
    assert notify_run(INTEGRATION, "catalog_sync", fine, state_url=state, now=soon) is None
    assert len(mail.wait_for(1, timeout=0.5)) == 0 and messages(state)[0].status == "failed"

    # the next report after the backoff sends it, composed again from the run's records
    later = datetime.now(UTC) + alerts.RETRY_BACKOFF + timedelta(minutes=1)
    assert notify_run(INTEGRATION, "catalog_sync", closed_run(state, "catalog_sync", "3"), state_url=state,
                      now=later) is None
    (received,) = mail.wait_for(1)
    assert received.subject.endswith("(TDS_UNREACHABLE)")
    (row,) = messages(state)
    assert (row.status, row.attempts, row.last_error) == ("sent", 4, None)
    with session_scope(state) as session:
        assert alert_log.messages(session, since=datetime.now(UTC) - timedelta(hours=1), undelivered_only=True) == []


def test_retries_stop_at_the_bound_and_the_message_stays_listed_not_delivered(state: str, mail: Sink) -> None:
    mail.refuse_next(3)
    refused = closed_run(state, "price_availability", "1", error=("TDS_XML_ERROR", "extract: TDS_XML_ERROR (test)"))
    assert notify_run(INTEGRATION, "price_availability", refused, state_url=state) == "failed"
    with session_scope(state) as session:  # as if three more passes had been refused
        session.execute(update(AlertLog).values(attempts=alerts.MAX_DELIVERY_ATTEMPTS))
    # the integration's next alert is delivered; the one past its bound is not tried again
    other = closed_run(state, "submit_orders", "2", error=("TDS_PO_REJECTED", "load: TDS_PO_REJECTED (test)"))
    assert notify_run(INTEGRATION, "submit_orders", other, state_url=state) == "sent"
    assert len(mail.wait_for(2, timeout=1.0)) == 1
    assert [(m.status, m.attempts) for m in messages(state)] == [("failed", alerts.MAX_DELIVERY_ATTEMPTS), ("sent", 1)]
    with session_scope(state) as session:
        (listed,) = alert_log.messages(session, since=datetime.now(UTC) - timedelta(hours=1), undelivered_only=True)
    assert listed.error_code == "TDS_XML_ERROR"
