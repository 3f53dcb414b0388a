"""A rotating-credential store in the state store (TD SYNNEX Ion's single-use refresh tokens).

``put`` commits before it returns, so the client persists the new refresh token before it ever
uses the access token that came with it: a crash afterwards cannot lose the only valid token.

Encrypted at rest with Airflow's Fernet key, the key that already protects connection passwords
(``[core] fernet_key``, read the way Airflow reads it: ``airflow.models.crypto.get_fernet()``, so
``AIRFLOW__CORE__FERNET_KEY``, ``fernet_key_cmd`` and ``fernet_key_secret`` all work). The key is a
comma-separated list (MultiFernet): the first key encrypts, every key decrypts. To rotate, put the
new key first and keep the old one after it until every value was written again: each ``put``
encrypts with the first key, and :func:`reencrypt_all` rewrites every stored value at once (what
``airflow rotate-fernet-key`` does for connections). A stored value is ``fernet:<token>``.

A row without that prefix is plain text from before encryption: it is read once, as it is, and the
next ``put`` (the Ion client writes the rotated token right after reading one) stores it encrypted.

Without a Fernet key channelsync refuses (``STATE_SECRET_KEY_MISSING``) instead of doing what Airflow
does for connections (store plain text after a log warning): an Ion refresh token is a 32-day key to
the reseller account, and a worker without the key is a misconfiguration to fix, not to hide. The check
is made in :meth:`StateTokenStore.get`, *before* the token is presented to Ion: refusing only on
``put`` would lose the token Ion had just rotated. ``CHANNELSYNC_ALLOW_PLAINTEXT_SECRETS=1`` is the
explicit way out for a throw-away development store: values are then written as plain text, with a
warning, and encrypted by the first ``put`` after a key is configured.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from sqlalchemy import select

from channelsync.errors import ChannelsyncError, define
from channelsync.state.db import session_scope
from channelsync.state.models import CredentialState
from channelsync.state.upsert import upsert

log = logging.getLogger(__name__)

PREFIX = "fernet:"
PLAINTEXT_ENV = "CHANNELSYNC_ALLOW_PLAINTEXT_SECRETS"
SECRET_KEY_MISSING = define(
    "STATE_SECRET_KEY_MISSING", "channelsync",
    "No Airflow Fernet key ([core] fernet_key) to encrypt the state store's rotating credentials",
)
SECRET_UNREADABLE = define(
    "STATE_SECRET_UNREADABLE", "channelsync",
    "A credential in the state store cannot be decrypted with the configured Fernet key(s)",
)


class SecretStoreError(ChannelsyncError):
    code = SECRET_KEY_MISSING


def _plaintext_allowed() -> bool:
    return os.environ.get(PLAINTEXT_ENV, "").strip().lower() in ("1", "true", "yes")


def fernet() -> Any | None:
    """Airflow's MultiFernet, or None when no key is configured. An invalid key is an error."""
    from airflow.exceptions import AirflowException
    from airflow.models.crypto import get_fernet

    try:
        cipher = get_fernet()
    except AirflowException as exc:
        raise SecretStoreError(f"[core] fernet_key is not a valid Fernet key list: {exc}",
                               code=SECRET_KEY_MISSING) from None
    return cipher if cipher.is_encrypted else None


def _cipher_or_refuse(what: str) -> Any | None:
    cipher = fernet()
    if cipher is None and not _plaintext_allowed():
        raise SecretStoreError(
            f"{what}: no Fernet key to encrypt it at rest. Set Airflow's [core] fernet_key (e.g. "
            "AIRFLOW__CORE__FERNET_KEY, the same key on every scheduler and worker; `python -c \"from "
            "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\"` makes one), or "
            f"{PLAINTEXT_ENV}=1 for a development store", code=SECRET_KEY_MISSING)
    if cipher is None:
        log.warning("%s: no Fernet key, stored as plain text (%s=1)", what, PLAINTEXT_ENV)
    return cipher


def encrypt(token: str, what: str = "credential") -> str:
    cipher = _cipher_or_refuse(what)
    if cipher is None:
        return token
    return PREFIX + cipher.encrypt(token.encode("utf-8")).decode("ascii")


def decrypt(stored: str, what: str = "credential") -> str:
    """A stored value as the token: ``fernet:`` values decrypted, anything else is legacy plain text."""
    if not stored.startswith(PREFIX):
        return stored
    from cryptography.fernet import InvalidToken

    cipher = fernet()
    if cipher is None:
        raise SecretStoreError(f"{what} is encrypted but no Fernet key is configured ([core] fernet_key)",
                               code=SECRET_KEY_MISSING)
    try:
        return bytes(cipher.decrypt(stored[len(PREFIX):].encode("ascii"))).decode("utf-8")
    except (InvalidToken, ValueError, UnicodeError):
        raise SecretStoreError(
            f"{what} cannot be decrypted with the configured [core] fernet_key: it was written with another key "
            "(keep the old key after the new one while rotating; every worker needs the same keys)",
            code=SECRET_UNREADABLE) from None


class StateTokenStore:
    def __init__(self, url: str, *, system: str, account: str, initial: str | None = None) -> None:
        self.url, self.system, self.account, self.initial = url, system, account, initial

    def __repr__(self) -> str:  # never the token
        return f"StateTokenStore(system={self.system!r}, account={self.account!r})"

    @property
    def _what(self) -> str:
        return f"the {self.system} credential of {self.account!r}"

    def get(self) -> str | None:
        # Refused here, before the token is presented: a put that failed after the vendor rotated
        # the token would lose the only valid one.
        _cipher_or_refuse(self._what)
        with session_scope(self.url) as session:
            stored = session.scalar(
                select(CredentialState.secret).where(
                    CredentialState.system == self.system, CredentialState.account == self.account
                )
            )
        return decrypt(stored, self._what) if stored else self.initial

    def put(self, token: str) -> None:
        secret = encrypt(token, self._what)
        with session_scope(self.url) as session:
            upsert(session, CredentialState, [{"system": self.system, "account": self.account, "secret": secret}],
                   keys=["system", "account"], update=["secret"])


def reencrypt_all(url: str) -> int:
    """Write every stored credential again with the first Fernet key (after a key rotation, or to
    encrypt plain-text rows from before encryption). Returns how many rows were rewritten."""
    cipher = _cipher_or_refuse("re-encrypting the state store's credentials")
    if cipher is None:
        return 0
    changed = 0
    with session_scope(url) as session:
        for row in session.scalars(select(CredentialState)):
            what = f"the {row.system} credential of {row.account!r}"
            row.secret = encrypt(decrypt(row.secret, what), what)
            changed += 1
    return changed
