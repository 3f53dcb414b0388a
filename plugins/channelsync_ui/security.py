"""Who is asking, and may they see it: Airflow's own token and Airflow's own auth manager.

Airflow adds no authentication to a plugin's FastAPI app, so every route here depends on
:func:`signed_in_user`. It takes the token the way Airflow's API does — an ``Authorization: Bearer``
header (scripts, tests) or the ``_token`` cookie Airflow's UI signs users in with (the pages, which the
UI embeds) — and has the configured auth manager validate it (signature, expiry, revocation) and turn
it into a user. Permissions are the auth manager's answer too: reading a channelsync page needs read
access to the DAG runs of the integration's DAG, exactly as Airflow's own run and log pages do, so
whatever the auth manager (Simple, FAB, Keycloak …) grants or denies applies unchanged. A change needs
what Airflow's own API would ask for the same change: a rerun edit access to the DAG's task instances
(``clearTaskInstances``: PUT), "sync now" the right to trigger a run (POST), a mapping edit edit access
to the DAG that uses the mapping (PUT: the billing DAG for customer mappings and service overrides,
catalog_sync's for category mappings) — and Airflow's API checks again when the plugin forwards the
user's token.

State-changing requests are POSTs, and each is checked (:func:`checked_form`) before it does anything:

- **Origin**: the browser's ``Origin`` header (``Referer`` when a browser sends none) must be this
  server — the ``Host`` the request came to, or ``[api] base_url``. A page elsewhere cannot post here.
- **CSRF token**: a hidden field every form carries, ``HMAC(key, nonce | user id)``. The nonce is a random
  value in the ``channelsync_csrf`` cookie (HttpOnly, SameSite=Strict, per browser session, set by the
  first page); the key is derived from Airflow's ``[api] secret_key``. Another site can neither read the
  cookie nor the page, so it cannot produce the field; a token is valid only with its own cookie and
  for its own user.

SameSite cookies alone are not relied on: Airflow's ``_token`` cookie is ``Lax``, which still sends
it on top-level navigations from other sites.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response
from jwt import InvalidTokenError
from starlette.datastructures import FormData

TOKEN_COOKIE = "_token"  # airflow.api_fastapi.auth.managers.base_auth_manager.COOKIE_NAME_JWT_TOKEN
CSRF_COOKIE, CSRF_FIELD = "channelsync_csrf", "csrf_token"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)

# What each kind of change asks the auth manager (method, DAG access entity name or None: the DAG itself).
RERUN = ("PUT", "TASK_INSTANCE")  # as POST /api/v2/dags/{dag_id}/clearTaskInstances
TRIGGER = ("POST", "RUN")  # as POST /api/v2/dags/{dag_id}/dagRuns
EDIT_DAG = ("PUT", None)  # the integration's settings for a DAG: its customer / category mappings, service overrides


class NotSignedIn(Exception):
    """No token, or one the auth manager refused (expired, forged, revoked)."""


class Forbidden(Exception):
    """Signed in, but the auth manager does not let this user read (or change) the DAG."""

    def __init__(self, dag_id: str, action: str = "read the runs of") -> None:
        super().__init__(f"you may not {action} DAG {dag_id}")
        self.dag_id, self.action = dag_id, action


class CsrfRefused(Exception):
    """A POST that did not come from one of this plugin's own pages (wrong origin, no or a wrong token)."""


def _auth_manager() -> Any:
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager()


def presented_token(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()  # an explicit credential wins over the ambient cookie, as in Airflow
    return request.cookies.get(TOKEN_COOKIE) or None


async def signed_in_user(request: Request) -> Any:
    """The Airflow user of this request (a FastAPI dependency on every route)."""
    token = presented_token(request)
    if not token:
        raise NotSignedIn("sign in to Airflow first")
    try:
        user = await _auth_manager().get_user_from_token(token)
    except InvalidTokenError as exc:  # expired, bad signature, revoked or unreadable
        raise NotSignedIn("your Airflow session is not valid any more; sign in again") from exc
    request.state.channelsync_access = Access(user)
    return user


def login_url(request: Request) -> str:
    next_url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url: str = _auth_manager().get_url_login(next_url=next_url)
    return url


class Access:
    """The auth manager's answers for one user, asked once per DAG per request."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self._answers: dict[str, bool] = {}

    @property
    def username(self) -> str:
        getter = getattr(self.user, "get_name", None)
        return str(getter() if callable(getter) else getattr(self.user, "username", "?"))

    @property
    def user_id(self) -> str:
        getter = getattr(self.user, "get_id", None)
        return str(getter() if callable(getter) else self.username)

    def _asks(self, dag_id: str, method: str, entity: str | None) -> bool:
        question = f"{method}:{entity}:{dag_id}"
        if question not in self._answers:
            from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

            self._answers[question] = bool(_auth_manager().is_authorized_dag(
                method=method, access_entity=DagAccessEntity[entity] if entity else None,  # type: ignore[arg-type]
                details=DagDetails(id=dag_id, team_name=_team_of(dag_id)), user=self.user,
            ))
        return self._answers[question]

    def may_read(self, dag_id: str) -> bool:
        return self._asks(dag_id, "GET", "RUN")

    def may(self, change: tuple[str, str | None], dag_id: str) -> bool:
        """May the user make this kind of change (:data:`RERUN`, :data:`TRIGGER`, :data:`EDIT_DAG`)?"""
        return self.may_read(dag_id) and self._asks(dag_id, *change)

    def require(self, dag_id: str) -> None:
        if not self.may_read(dag_id):
            raise Forbidden(dag_id)

    def require_change(self, change: tuple[str, str | None], dag_id: str) -> None:
        self.require(dag_id)
        if not self.may(change, dag_id):
            raise Forbidden(dag_id, {RERUN: "rerun the task instances of", TRIGGER: "trigger runs of",
                                     EDIT_DAG: "edit"}.get(change, "change"))

    def readable(self, dag_ids: Iterable[str]) -> set[str]:
        return {dag_id for dag_id in dag_ids if self.may_read(dag_id)}


def access(request: Request) -> Access:
    found = getattr(request.state, "channelsync_access", None)
    if not isinstance(found, Access):  # every route depends on signed_in_user; this is a programming error
        raise NotSignedIn("no user resolved for this request")
    return found


def _team_of(dag_id: str) -> str | None:
    """The DAG's team in a multi-team Airflow (the auth manager decides per team), else None."""
    from airflow.configuration import conf

    if not conf.getboolean("core", "multi_team", fallback=False):
        return None
    from airflow.models.dag import DagModel

    team: str | None = DagModel.get_team_name(dag_id)
    return team


# ---- CSRF -----------------------------------------------------------------------------------------------

@cache
def _csrf_key() -> bytes:
    """A key of its own, derived from Airflow's ``[api] secret_key`` (the same on every API server of a
    deployment, as Airflow requires), else its JWT secret."""
    from airflow.configuration import conf

    secret = conf.get("api", "secret_key", fallback="") or conf.get("api_auth", "jwt_secret", fallback="") or ""
    if not secret:
        raise RuntimeError("Airflow has no [api] secret_key: channelsync cannot protect its forms")
    return hashlib.sha256(b"channelsync-csrf\0" + secret.encode()).digest()


def _nonce(request: Request) -> str | None:
    value = request.cookies.get(CSRF_COOKIE) or ""
    return value if _NONCE.match(value) else None


def csrf_token(request: Request) -> str:
    """The hidden field of this user's forms; the first page of a browser session also sets the cookie
    it is bound to (:func:`set_csrf_cookie`)."""
    nonce = _nonce(request) or getattr(request.state, "csrf_new_nonce", None)
    if nonce is None:
        nonce = request.state.csrf_new_nonce = secrets.token_urlsafe(32)
    return _sign(nonce, access(request).user_id)


def _sign(nonce: str, user_id: str) -> str:
    return hmac.new(_csrf_key(), f"{nonce}|{user_id}".encode(), hashlib.sha256).hexdigest()


def set_csrf_cookie(request: Request, response: Response, *, path: str) -> None:
    nonce = getattr(request.state, "csrf_new_nonce", None)
    if nonce:
        response.set_cookie(CSRF_COOKIE, nonce, path=path or "/", httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")


def allowed_origins(request: Request) -> set[str]:
    """This server as a browser names it: the Host the request came to (http or https: a proxy may end
    TLS), and the origin of Airflow's ``[api] base_url``."""
    from airflow.configuration import conf

    found = set()
    host = request.headers.get("host", "").strip().lower()
    if host:
        found |= {f"http://{host}", f"https://{host}"}
    base = urlsplit(conf.get("api", "base_url", fallback="") or "")
    if base.scheme and base.netloc:
        found.add(f"{base.scheme}://{base.netloc}".lower())
    return found


def _origin_of(request: Request) -> str | None:
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.strip().lower()
    referer = urlsplit(request.headers.get("referer", ""))
    return f"{referer.scheme}://{referer.netloc}".lower() if referer.scheme and referer.netloc else None


def check_origin(request: Request) -> None:
    origin = _origin_of(request)
    if origin is None:
        raise CsrfRefused("the request names no origin (no Origin or Referer header): send it from the page")
    if origin not in allowed_origins(request):
        raise CsrfRefused(f"the request comes from another site ({origin}), not from this Airflow")


def check_csrf(request: Request, form: FormData) -> None:
    nonce = _nonce(request)
    sent = form.get(CSRF_FIELD)
    if nonce is None or not isinstance(sent, str) or not sent:
        raise CsrfRefused("the form's security token is missing: reload the page and try again")
    if not hmac.compare_digest(sent, _sign(nonce, access(request).user_id)):
        raise CsrfRefused("the form's security token is not valid for this session: reload the page and try again")


async def checked_form(request: Request) -> FormData:
    """The form of a POST that came from this plugin's own page (a dependency of every POST route, after
    the sign-in): the origin first, then the token."""
    check_origin(request)
    form = await request.form()
    check_csrf(request, form)
    return form
