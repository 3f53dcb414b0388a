"""Who is asking, and may they see it: Airflow's own token and Airflow's own auth manager.

Airflow adds no authentication to a plugin's FastAPI app, so every route here depends on
:func:`signed_in_user`. It takes the token the way Airflow's API does — an ``Authorization: Bearer``
header (scripts, tests) or the ``_token`` cookie Airflow's UI signs users in with (the pages, which the
UI embeds) — and has the configured auth manager validate it (signature, expiry, revocation) and turn
it into a user. Permissions are the auth manager's answer too: reading a channelsync page needs read
access to the DAG runs of the integration's DAG, exactly as Airflow's own run and log pages do, so
whatever the auth manager (Simple, FAB, Keycloak …) grants or denies applies unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import Request
from jwt import InvalidTokenError

TOKEN_COOKIE = "_token"  # airflow.api_fastapi.auth.managers.base_auth_manager.COOKIE_NAME_JWT_TOKEN


class NotSignedIn(Exception):
    """No token, or one the auth manager refused (expired, forged, revoked)."""


class Forbidden(Exception):
    """Signed in, but the auth manager does not let this user read the DAG."""

    def __init__(self, dag_id: str) -> None:
        super().__init__(f"you may not read the runs of DAG {dag_id}")
        self.dag_id = dag_id


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

    def may_read(self, dag_id: str) -> bool:
        if dag_id not in self._answers:
            from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

            self._answers[dag_id] = bool(_auth_manager().is_authorized_dag(
                method="GET", access_entity=DagAccessEntity.RUN,
                details=DagDetails(id=dag_id, team_name=_team_of(dag_id)), user=self.user,
            ))
        return self._answers[dag_id]

    def require(self, dag_id: str) -> None:
        if not self.may_read(dag_id):
            raise Forbidden(dag_id)

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
