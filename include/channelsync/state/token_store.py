"""A rotating-credential store in the state store (TD SYNNEX Ion's single-use refresh tokens).

``put`` commits before it returns, so the client persists the new refresh token before it ever
uses the access token that came with it: a crash afterwards cannot lose the only valid token.
The token is stored as is: the state store's database is where production keeps its secrets
(PostgreSQL with disk encryption / the Airflow connection); do not point it at a shared file.
"""

from __future__ import annotations

from sqlalchemy import select

from channelsync.state.db import session_scope
from channelsync.state.models import CredentialState
from channelsync.state.upsert import upsert


class StateTokenStore:
    def __init__(self, url: str, *, system: str, account: str, initial: str | None = None) -> None:
        self.url, self.system, self.account, self.initial = url, system, account, initial

    def __repr__(self) -> str:  # never the token
        return f"StateTokenStore(system={self.system!r}, account={self.account!r})"

    def get(self) -> str | None:
        with session_scope(self.url) as session:
            stored = session.scalar(
                select(CredentialState.secret).where(
                    CredentialState.system == self.system, CredentialState.account == self.account
                )
            )
        return stored or self.initial

    def put(self, token: str) -> None:
        with session_scope(self.url) as session:
            upsert(session, CredentialState, [{"system": self.system, "account": self.account, "secret": token}],
                   keys=["system", "account"], update=["secret"])
