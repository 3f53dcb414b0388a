"""Ion OAuth: ``POST /oauth/token`` (refresh-token grant) and ``POST /oauth/validateAccess``.

Refresh tokens are single use and rotate: each refresh deletes the presented token and issues a new
one (valid 32 days); presenting it again finds nothing, answered as the real service does when a
token is missing from its store: HTTP 400 ``{"error": "cannot validate token: redis: nil"}``.
Access tokens live 7,200 s on the sandbox clock.
ASSUMPTION: a missing / expired bearer token on a v3 call gets 401 ``UNAUTHENTICATED`` in the
Google-RPC envelope (the spec shows 403 PERMISSION_DENIED only for authorization failures).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from channelsync.sandbox.framework import SandboxRequest, SandboxResponse, json_response
from channelsync.sandbox.store import Table

ACCESS_TTL = timedelta(seconds=7200)
REFRESH_TTL = timedelta(days=32)
REDIS_NIL = "cannot validate token: redis: nil"


def seed_refresh_token(table: Table, token: str, account_id: str, now: datetime) -> None:
    table.insert({"token": token, "accountId": account_id, "expiresAt": (now + REFRESH_TTL).isoformat()})


def _form(request: SandboxRequest) -> dict[str, str]:
    fields = parse_qs(request.body.decode("utf-8", errors="replace"), keep_blank_values=True)
    fields.update(parse_qs(request.query_string, keep_blank_values=True))
    return {key: values[-1] for key, values in fields.items()}


def issue_token(request: SandboxRequest, refresh: Table, access: Table, now: datetime) -> SandboxResponse:
    form = _form(request)
    if form.get("grant_type") != "refresh_token":
        return json_response(400, {"error": "unsupported grant_type: expected refresh_token"})
    presented = form.get("refresh_token", "")
    record = refresh.delete(presented) if presented else None  # single use: gone once presented
    if record is None or datetime.fromisoformat(record["expiresAt"]) <= now:
        return json_response(400, {"error": REDIS_NIL})
    new_refresh = f"ionrt-{secrets.token_hex(20)}"
    new_access = f"ionat-{secrets.token_hex(20)}"
    seed_refresh_token(refresh, new_refresh, record["accountId"], now)
    access.insert({"token": new_access, "accountId": record["accountId"],
                   "expiresAt": (now + ACCESS_TTL).isoformat(), "refreshToken": new_refresh})
    return json_response(200, {"access_token": new_access, "expires_in": int(ACCESS_TTL.total_seconds()),
                               "refresh_token": new_refresh, "token_type": "Bearer"})


def validate_access(request: SandboxRequest, refresh: Table, access: Table, now: datetime) -> SandboxResponse:
    token = _form(request).get("access_token", "")
    record = access.get(token) if token else None
    if record is None or datetime.fromisoformat(record["expiresAt"]) <= now:
        return json_response(400, {"error": REDIS_NIL})
    refresh_record = refresh.get(record.get("refreshToken"))
    refresh_left = (datetime.fromisoformat(refresh_record["expiresAt"]) - now) if refresh_record else timedelta(0)
    return json_response(200, {
        "access_expires_in": int((datetime.fromisoformat(record["expiresAt"]) - now).total_seconds()),
        "refresh_expires_in": max(0, int(refresh_left.total_seconds())),
    })


def bearer_account(request: SandboxRequest, access: Table, now: datetime) -> dict[str, Any] | None:
    header = request.headers.get("authorization", "") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    record = access.get(token.strip())
    if record is None or datetime.fromisoformat(record["expiresAt"]) <= now:
        return None
    return record
