"""The alert e-mail: what it says (pure functions of the run's records) and how it is sent (SMTP).

One message per run that needs a look. It names the integration, the template and the run, gives the
run's status and counts, then one section per error code: what happened in this run (the failure, the
items, the template's own alerts such as price changes, stuck orders, an endpoint down or back), and
the error catalog's explanation, action and first responder. It links the run's status page (the
channelsync plugin in Airflow's UI) and the Airflow run. Plain text only: vendor text needs no escaping
and renders the same in every mail client. Nothing secret goes in: clients redact vendor messages, and
:func:`scrub` removes credentials from URLs as a last line of defence.

Sending uses Airflow's own SMTP settings (``[smtp]``, i.e. ``AIRFLOW__SMTP__SMTP_HOST`` …) through the
standard library's ``smtplib``, retried a few times; the caller records the outcome in the alert log.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from channelsync.ui.links import airflow_base_url, dag_run_url, status_page_url

log = logging.getLogger(__name__)

SEVERITIES = ("info", "warning", "error", "critical")  # least to most severe
EXAMPLES = 5  # items named per code; the status page has them all
MESSAGE_CHARS = 300


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 1


@dataclass
class Finding:
    """One thing the e-mail reports: the run's failure, items needing action, or an alert a template
    recorded. ``keys`` identify it across runs (is it new since the previous run?)."""

    code: str | None
    severity: str
    lines: list[str]
    subject: str | None = None  # the e-mail's subject when this finding heads it
    count: int = 0  # items it stands for (0: the run's failure, a template's alert)
    keys: set[tuple[str, ...]] = field(default_factory=set)
    event: bool = False  # a one-off (price change, outage): new by definition
    fresh: bool = True  # False: the previous run reported it already (it does not head the e-mail)


@dataclass
class RunAlert:
    integration: str
    template: str
    recipients: list[str]
    findings: list[Finding]
    run_id: int | None = None
    run_key: str | None = None
    status: str | None = None
    headline: str | None = None  # "Failure — load: [CODE] …" (the DAG run note's words)
    counts: dict[str, int] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None

    @property
    def severity(self) -> str:
        return max((f.severity for f in self.findings), key=severity_rank, default="info")

    def top(self) -> Finding | None:
        """What heads the e-mail: the most severe finding that is new since the previous run (if any is)."""
        candidates = [f for f in self.findings if f.fresh] or self.findings
        return max(candidates, key=lambda f: severity_rank(f.severity), default=None)


# -- what the message says -----------------------------------------------------------------------------

_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")
_SECRET_PARAMS = re.compile(r"(?i)([?&;](?:[a-z0-9_]*(?:token|secret|password|passwd|pwd|apikey|api_key|"
                            r"signature|sig|code|key))=)[^&\s#]+")
_SECRET_WORDS = re.compile(r"(?i)\b(authorization|password|secret|api[-_ ]?key|bearer)(\s*[:=]\s*|\s+)([^\s,;]+)")


def scrub(text: str) -> str:
    """Credentials that could ride along in a vendor message: ``user:pass@`` in URLs, secret-looking query
    parameters, ``password=…`` / ``Authorization: …`` pairs."""
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    text = _SECRET_PARAMS.sub(r"\1***", text)
    return _SECRET_WORDS.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def _shorten(text: str, limit: int = MESSAGE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def subject(alert: RunAlert) -> str:
    top = alert.top()
    if top is None:
        return f"[channelsync] {alert.integration} {alert.template}: run {alert.run_id}"
    text = top.subject or f"[channelsync] {alert.integration} {alert.template}: {top.code or 'alert'}"
    # Other problems, not counting those the subject names already or whose text names the top one's code
    # (health's "down: autotask (AUTOTASK_SERVER_ERROR)" failure is the outage itself).
    others = len({f.code for f in alert.findings if f.code != top.code and (f.code or "") not in text
                  and not (top.code and any(top.code in line for line in f.lines))})
    text = f"{text} (+{others} more)" if others else text
    return _shorten(scrub(text), 250)


def body(alert: RunAlert, *, base_url: str | None = None,
         advice: Callable[[str | None], object] | None = None,
         title: Callable[[str | None], str | None] | None = None) -> str:
    """The plain-text message. ``advice(code)`` gives the catalog's guidance (``explanation``, ``action``,
    ``first_responder``, ``rerun_fixes``), ``title(code)`` its one-line summary."""
    from channelsync.error_catalog import advice as catalog_advice
    from channelsync.error_catalog import definition

    advice = advice or catalog_advice
    title = title or (lambda code: getattr(definition(code), "summary", None))
    base = airflow_base_url() if base_url is None else base_url.rstrip("/")
    lines = [f"channelsync · {alert.integration} · {alert.template}"
             + (f" · run {alert.run_id}" if alert.run_id is not None else ""), ""]
    if alert.headline:
        lines.append(f"Status: {alert.headline}")
    if alert.run_id is not None:
        lines.append(f"Status page: {status_page_url(alert.run_id, base)}")
    run_url = dag_run_url(base, alert.run_key) if alert.run_key else None
    if run_url:
        lines.append(f"Airflow run: {run_url}")
    when = _when(alert)
    if when:
        lines.append(when)
    if alert.counts:
        lines.append("Items: " + ", ".join(f"{n} {name}" for name, n in sorted(alert.counts.items(),
                                                                               key=lambda kv: (-kv[1], kv[0])) if n))
    lines += ["", "What needs a look", "-----------------"]
    for number, (code, findings) in enumerate(_by_code(alert.findings), start=1):
        guidance = advice(code)
        count = sum(f.count for f in findings)
        heading = f"{number}. [{code}] {title(code) or ''}".rstrip() if code else f"{number}. {title(code) or 'Alert'}"
        lines.append(heading + (f" — {count} item{'' if count == 1 else 's'}" if count else ""))
        for finding in findings:
            lines += [f"   {_shorten(line)}" for line in finding.lines]
        rerun = "yes" if getattr(guidance, "rerun_fixes", False) else "no"
        lines += [
            f"   What it means: {getattr(guidance, 'explanation', '')}",
            f"   What to do: {getattr(guidance, 'action', '')}",
            f"   Who acts first: {getattr(guidance, 'first_responder', '')} · a rerun fixes it once the cause is "
            f"gone: {rerun}",
            "",
        ]
    lines += ["Every item and its error is on the status page; rerun one failed customer or order from there.",
              "", "-- ", f"channelsync alerts of {alert.integration} ({alert.template}); the lists are set under "
              "alerts in the integrations file."]
    return scrub("\n".join(lines)) + "\n"


def _when(alert: RunAlert) -> str | None:
    if alert.started_at is None:
        return None
    text = f"Started {alert.started_at:%Y-%m-%d %H:%M:%S} UTC"
    if alert.finished_at is not None:
        text += f", finished {alert.finished_at:%H:%M:%S} UTC"
    if alert.duration_s is not None:
        text += f" ({alert.duration_s:.0f} s)"
    return text


def _by_code(findings: Sequence[Finding]) -> list[tuple[str | None, list[Finding]]]:
    """Findings grouped by code, the most severe group first (then the biggest)."""
    groups: dict[str | None, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.code, []).append(finding)
    return sorted(groups.items(), key=lambda kv: (-max(severity_rank(f.severity) for f in kv[1]),
                                                  -sum(f.count for f in kv[1]), kv[0] or ""))


# -- sending ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = True
    ssl: bool = False
    user: str | None = None
    password: str | None = None
    mail_from: str = "airflow@example.com"
    timeout: float = 30.0
    attempts: int = 3

    def __repr__(self) -> str:  # never the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, user={self.user!r})"

    @classmethod
    def from_airflow(cls) -> SmtpSettings:
        """Airflow's ``[smtp]`` section (``AIRFLOW__SMTP__*``; ``_CMD`` / ``_SECRET`` variants included)."""
        try:
            from airflow.configuration import conf

            def get(key: str, default: str) -> str:
                return str(conf.get("smtp", key, fallback=default))
        except Exception:
            def get(key: str, default: str) -> str:
                return os.environ.get(f"AIRFLOW__SMTP__{key.upper()}", default)

        def flag(key: str, default: str) -> bool:
            return get(key, default).strip().lower() in ("1", "true", "yes", "on")

        retries = int(get("smtp_retry_limit", "5") or 5)
        return cls(host=get("smtp_host", "localhost"), port=int(get("smtp_port", "25") or 25),
                   starttls=flag("smtp_starttls", "True"), ssl=flag("smtp_ssl", "False"),
                   user=get("smtp_user", "") or None, password=get("smtp_password", "") or None,
                   mail_from=get("smtp_mail_from", "airflow@example.com") or "airflow@example.com",
                   timeout=min(float(get("smtp_timeout", "30") or 30), 60.0),
                   attempts=max(1, min(retries, 3)))


class DeliveryFailed(Exception):
    """Every attempt to hand the message to the SMTP server failed (the message says the last reason)."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


def build_message(settings: SmtpSettings, recipients: Sequence[str], subject_text: str, text: str, *,
                  reference: str) -> EmailMessage:
    # Headers unfolded up to RFC 5322's 998 characters: Python's folder puts a subject starting with "[…]" on
    # a continuation line, which mail clients then show with a leading space.
    message = EmailMessage(policy=SMTP.clone(max_line_length=998))
    message["From"] = settings.mail_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject_text
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(idstring=re.sub(r"[^A-Za-z0-9.-]", "-", reference)[:60], domain="channelsync")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to an alert list
    message["X-Channelsync-Alert"] = reference
    message.set_content(text, charset="utf-8")
    return message


def send(message: EmailMessage, recipients: Sequence[str], settings: SmtpSettings, *,
         sleep: Callable[[float], None] = time.sleep) -> int:
    """Hand the message to the SMTP server; retried with a short backoff. Returns the attempts it took."""
    last: Exception | None = None
    for attempt in range(1, settings.attempts + 1):
        try:
            _send_once(message, recipients, settings)
            return attempt
        except (OSError, smtplib.SMTPException) as exc:
            last = exc
            log.warning("alert e-mail to %s: attempt %d of %d failed: %s", ", ".join(recipients), attempt,
                        settings.attempts, _describe(exc))
            if attempt < settings.attempts:
                sleep(min(2.0 ** (attempt - 1), 5.0))
    raise DeliveryFailed(f"SMTP {settings.host}:{settings.port}: {_describe(last)}", attempts=settings.attempts)


def _send_once(message: EmailMessage, recipients: Sequence[str], settings: SmtpSettings) -> None:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if settings.ssl:
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with client:
        client.ehlo()
        if settings.starttls and not settings.ssl:
            client.starttls(context=context)
            client.ehlo()
        if settings.user and settings.password:
            client.login(settings.user, settings.password)
        refused = client.send_message(message, from_addr=settings.mail_from, to_addrs=list(recipients))
    if refused:  # the others have it: sending again would give them a second copy
        log.warning("alert e-mail: the SMTP server refused %s", ", ".join(sorted(refused)))


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "no attempt made"
    text = str(exc) or type(exc).__name__
    return _shorten(f"{type(exc).__name__}: {scrub(text)}", 200)
