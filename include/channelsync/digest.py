"""The weekly digest: one e-mail per integration to its alert lists, on the last full week (Monday to
Sunday, UTC) against the week before — per template: runs and success rate, mean processing time,
items by kind (volumes), errors by code and their rate per item processed.

Sent by the ``weekly_digest`` task of the daily ``channelsync_maintenance`` DAG: the first run after a
week ends sends that week's digest, later runs find it in the alert log (template ``digest``) and send
nothing; one the SMTP server refused is sent by the next day's run. Built from the same day sums as
the dashboard's trends (``ui/trends.py``).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from channelsync.ui.cards import SUCCESSFUL
from channelsync.ui.trends import DayStats, summed

if TYPE_CHECKING:
    from channelsync.config import ChannelsyncConfig, IntegrationConfig

log = logging.getLogger(__name__)

DIGEST = "digest"  # alert_log.template of a digest message
KIND_LABELS = {"write": "written", "neutral": "unchanged", "warning": "with warnings", "failure": "failed"}


class Week(DayStats):
    """One template's week: its days summed (``DayStats.add``), with the digest's rates."""

    @property
    def finished(self) -> int:
        return sum(n for status, n in self.runs.items() if status != "running")

    @property
    def success_rate(self) -> float | None:
        return sum(self.runs.get(s, 0) for s in SUCCESSFUL) / self.finished if self.finished else None

    @property
    def mean_duration(self) -> float | None:
        return self.duration_sum / self.duration_n if self.duration_n else None

    @property
    def processed(self) -> int:
        return sum(self.items.values())


def last_full_week(now: datetime) -> date:
    """The Monday of the last week that has ended."""
    today = now.astimezone(UTC).date()
    return today - timedelta(days=today.weekday() + 7)


def weeks(session: object, integration: str, templates: list[str], monday: date) -> dict[str, tuple[Week, Week]]:
    """(this week, the week before) per template."""
    stats = summed(session, [(integration, t) for t in templates], monday - timedelta(days=7),  # type: ignore[arg-type]
                   monday + timedelta(days=6))
    found = {t: (Week(), Week()) for t in templates}
    for ((_, template), day), day_stats in stats.items():
        found[template][0 if day >= monday else 1].add(day_stats)
    return found


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _change(now: float | None, before: float | None, *, unit: str = "", points: bool = False) -> str:
    if now is None or before is None:
        return "(no figure the week before)" if now is not None else ""
    if points:
        return f"({(now - before) * 100:+.1f} points)"
    if before == 0:
        return "(new)" if now else "(=)"
    return f"({(now - before) / before * 100:+.0f} %{unit})"


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def body(integration: str, monday: date, found: dict[str, tuple[Week, Week]]) -> str:
    sunday = monday + timedelta(days=6)
    lines = [f"channelsync · {integration} · week {monday:%G-W%V} ({monday:%d %b} – {sunday:%d %b %Y}, UTC)",
             "Each figure against the week before.", ""]
    for template, (week, before) in found.items():
        lines += [template, "-" * len(template)]
        if not week.runs and not before.runs:
            lines += ["  no run this week or the week before", ""]
            continue
        lines.append(f"  Runs: {week.finished} finished {_change(week.finished, before.finished)}; "
                     f"success rate {_percent(week.success_rate)} "
                     f"{_change(week.success_rate, before.success_rate, points=True)}".rstrip())
        failed = week.runs.get("failure", 0)
        if failed:
            lines.append(f"  Failed runs: {failed}")
        lines.append(f"  Processing time: mean {_seconds(week.mean_duration)} per run "
                     f"{_change(week.mean_duration, before.mean_duration)}".rstrip())
        volumes = ", ".join(f"{week.items.get(kind, 0):,} {label} "
                            f"{_change(week.items.get(kind, 0), before.items.get(kind, 0))}"
                            for kind, label in KIND_LABELS.items() if week.items.get(kind) or before.items.get(kind))
        lines.append(f"  Items: {week.processed:,} {_change(week.processed, before.processed)}"
                     + (f" — {volumes}" if volumes else ""))
        if week.errors or before.errors:
            lines.append("  Errors by code (rate per item processed):")
            for code in sorted(set(week.errors) | set(before.errors), key=lambda c: (-week.errors.get(c, 0), c)):
                count = week.errors.get(code, 0)
                rate = count / week.processed if week.processed else None
                shown = "" if rate is None else f" ({rate * 100:.2f} %)" if rate >= 0.0001 else " (< 0.01 %)"
                lines.append(f"    {code}: {count:,}{shown} {_change(count, before.errors.get(code, 0))}")
        else:
            lines.append("  Errors: none")
        lines.append("")
    lines += ["-- ", f"channelsync's weekly digest of {integration}; the lists are set under alerts in the "
              "integrations file. The dashboard has the trends per day."]
    return "\n".join(lines) + "\n"


def send_integration(integration: IntegrationConfig, *, state_url: str, now: datetime) -> str | None:
    """The integration's digest of the last full week, unless the alert log has it already; returns the
    delivery status, or None when it was sent before."""
    from sqlalchemy import select

    from channelsync import alert_mail
    from channelsync.alerts import FAILED, NO_RECIPIENTS, SENT
    from channelsync.state.db import session_scope
    from channelsync.state.models import AlertLog

    monday = last_full_week(now)
    subject = f"[channelsync] {integration.name}: weekly digest {monday:%G-W%V}"
    recipients = list(integration.alerts.emails)
    with session_scope(state_url) as session:
        earlier = session.scalars(select(AlertLog).where(AlertLog.integration == integration.name,
                                                         AlertLog.template == DIGEST, AlertLog.subject == subject)
                                  .order_by(AlertLog.id.desc())).first()
        if earlier is not None and earlier.status != FAILED:
            return None
        text = body(integration.name, monday, weeks(session, integration.name, list(integration.templates), monday))
        row = earlier or AlertLog(integration=integration.name, template=DIGEST, severity="info",
                                  recipients=recipients, subject=subject, status="sending")
        row.status, row.recipients = "sending", recipients
        session.add(row)
        session.flush()
        row_id = row.id
    status, attempts, error = NO_RECIPIENTS, 0, None
    if recipients:
        smtp = alert_mail.SmtpSettings.from_airflow()
        message = alert_mail.build_message(smtp, recipients, subject, alert_mail.scrub(text),
                                           reference=f"{integration.name}-digest-{monday:%G-W%V}")
        try:
            attempts, status = alert_mail.send(message, recipients, smtp), SENT
        except alert_mail.DeliveryFailed as exc:
            attempts, status, error = exc.attempts, FAILED, str(exc)[:2000]
            log.error("weekly digest of %s not delivered: %s; sent again by tomorrow's maintenance run",
                      integration.name, exc)
    with session_scope(state_url) as session:
        stored = session.get(AlertLog, row_id)
        if stored is not None:
            stored.status, stored.last_error = status, error
            if attempts:
                stored.attempts = (stored.attempts or 0) + attempts
                stored.last_attempt_at = datetime.now(UTC)
    return status


def send_due(config: ChannelsyncConfig, *, state_url: str, now: datetime | None = None) -> dict[str, str | None]:
    """Every integration's digest of the last full week not sent yet: integration → delivery status."""
    now = now or datetime.now(UTC)
    return {integration.name: send_integration(integration, state_url=state_url, now=now)
            for integration in config.integrations}
