"""Where the Ion refresh token lives between runs.

Ion refresh tokens are single use: every refresh returns a new one and the old one is dead. The
client therefore calls ``put(new)`` before it uses the access token of that refresh, so a crash
at any later point leaves the store holding a live token. (A crash *between* the token response
arriving and ``put`` returning cannot be made safe by any client: the vendor has already rotated.)
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Protocol


class TokenStore(Protocol):
    def get(self) -> str | None: ...

    def put(self, refresh_token: str) -> None: ...


class InMemoryTokenStore:
    """For tests and one-off scripts; the token is lost with the process."""

    def __init__(self, initial: str | None = None) -> None:
        self._token = initial
        self._lock = threading.Lock()

    def get(self) -> str | None:
        with self._lock:
            return self._token

    def put(self, refresh_token: str) -> None:
        with self._lock:
            self._token = refresh_token

    def __repr__(self) -> str:
        return "InMemoryTokenStore(***)"


class FileTokenStore:
    """One file, mode 0600, replaced atomically (write temp + fsync + rename): a crash mid-write
    leaves either the old or the new token, never half of one. ``initial`` is used until the
    first ``put`` (e.g. the token from the Airflow connection)."""

    def __init__(self, path: str | Path, initial: str | None = None) -> None:
        self.path = Path(path)
        self.initial = initial

    def get(self) -> str | None:
        try:
            value = self.path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return self.initial
        return value or self.initial

    def put(self, refresh_token: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".ion-token-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(refresh_token)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"
