"""A cached OAuth access token, and calls that refresh it once when the API answers 401.

Shared by the clients whose APIs hand out short-lived bearer tokens (Crayon, Pax8). The client
supplies how to fetch a token; this holds it until shortly before it expires.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from channelsync.clients.http import HttpTransport
from channelsync.errors import FatalApiError

log = logging.getLogger(__name__)

# Refresh this long before the announced expiry, so a token never expires in flight.
TOKEN_MARGIN_S = 60

# Returns (access token, lifetime in seconds).
TokenFetcher = Callable[[], tuple[str, float]]


class BearerAuth:
    def __init__(self, *, system: str, fetch: TokenFetcher, auth_code: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.system = system
        self.auth_code = auth_code
        self._fetch = fetch
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the token
        return f"BearerAuth(system={self.system!r})"

    def token(self, *, refresh: bool = False) -> str:
        with self._lock:
            if refresh or self._token is None or self._clock() >= self._expires:
                token, lifetime = self._fetch()
                self._token, self._expires = token, self._clock() + lifetime - TOKEN_MARGIN_S
                log.debug("%s: new access token, valid %ss", self.system, lifetime)
            return self._token

    def call(self, transport: HttpTransport, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send with the current token; on a 401, fetch a new token and send once more."""
        for attempt in (1, 2):
            headers = {"Accept": "application/json", "Authorization": f"Bearer {self.token(refresh=attempt == 2)}",
                       **kwargs.pop("headers", {})}
            try:
                return transport.request(method, url, headers=headers, **kwargs)
            except FatalApiError as exc:
                if exc.status != 401:
                    raise
                if attempt == 2:
                    raise FatalApiError(f"{self.system} refused a fresh access token (401)", code=self.auth_code,
                                        system=self.system, status=401, method=method, url=url) from None
                log.info("%s: 401 on %s, refreshing the token once", self.system, method)
        raise AssertionError("unreachable")
