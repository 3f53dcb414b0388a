"""Rendering helpers: one Jinja environment (autoescaped: vendor and user texts are data, never
markup), filters for times, durations and counts, and the security headers every page carries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from channelsync.ui import charts
from channelsync.ui.cards import COLOUR_LABELS, as_utc
from channelsync.ui.labels import outcome_kind, status_label, summarize_counts
from channelsync.ui.links import APP_PREFIX

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

# No script, no inline style, nothing from elsewhere: an escaped-but-missed vendor text still cannot run.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                                "frame-ancestors 'self'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _ago(moment: datetime | None, now: datetime | None = None) -> str:
    moment = as_utc(moment)
    if moment is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def _when(moment: datetime | None) -> str:
    moment = as_utc(moment)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "—"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _calls(api_calls: dict[str, Any] | None) -> str:
    return ", ".join(f"{system} {int(n):,}" for system, n in sorted((api_calls or {}).items())) or "—"


environment = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(default=True),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
environment.filters.update(ago=_ago, when=_when, duration=_duration, calls=_calls, status_label=status_label,
                           counts=lambda counts: ", ".join(summarize_counts(counts or {}, include_neutral=True)),
                           kind=outcome_kind, colour_label=lambda c: COLOUR_LABELS.get(c, c))
environment.globals.update(charts=charts)


class Urls:
    """Links inside the plugin (under its mount point) and into Airflow's UI."""

    def __init__(self, request: Request) -> None:
        root = request.scope.get("root_path", "").rstrip("/")
        self.app = root if root.endswith(APP_PREFIX) else root + APP_PREFIX
        self.airflow = self.app.removesuffix(APP_PREFIX)
        self.request = request

    def page(self, path: str = "/", **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v not in (None, "", False)})
        return f"{self.app}{path}" + (f"?{query}" if query else "")

    def static(self, name: str) -> str:
        return f"{self.app}/static/{name}"

    def same(self, **changes: Any) -> str:
        """This page with some query parameters changed (paging, filters)."""
        params = dict(self.request.query_params)
        params.update({k: v for k, v in changes.items()})
        return self.page(self.request.url.path.removeprefix(self.app) or "/", **params)


def render(request: Request, page_template: str, /, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page; one with a form carries the user's CSRF token (``csrf()`` in the template), and the first
    such page of a browser session sets the cookie the token is bound to."""
    from .security import NotSignedIn, access, csrf_token, set_csrf_cookie

    try:
        username: str | None = access(request).username
    except NotSignedIn:
        username = None
    urls = Urls(request)
    html = environment.get_template(page_template).render(urls=urls, username=username, now=datetime.now(UTC),
                                                          csrf=lambda: csrf_token(request), **context)
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    set_csrf_cookie(request, response, path=urls.app)
    return response
