"""What the Ion v3 handlers share: the Google-RPC error envelope, page tokens, resource names.

Envelope (spec examples): ``{"error": "<STATUS>", "message": "...", "code": <http>, "details":
[{"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": "..."}]}``. Order validation
uses ``code: 3`` and ``type.googleapis.com/v3orberrors.ErrorBody`` details (see ion_orders).
"""

from __future__ import annotations

import base64
import binascii
import itertools
from typing import Any

from channelsync.sandbox.framework import SandboxRequest, SandboxResponse, json_response

_REQUEST_IDS = itertools.count(0x176EFAA5115CD4D84048)
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class IonError(Exception):
    """Raised by handlers; the emulator turns it into the envelope."""

    def __init__(self, status: int, error: str, message: str, **extra_detail: Any) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.extra_detail = status, error, message, extra_detail


def request_id() -> str:
    return f"{next(_REQUEST_IDS):x}"[:20]


def envelope(status: int, error: str, message: str, **extra_detail: Any) -> SandboxResponse:
    detail = {"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": request_id(), **extra_detail}
    return json_response(status, {"error": error, "message": message, "code": status, "details": [detail]})


def invalid(message: str) -> IonError:
    return IonError(400, "INVALID_REQUEST", message)


def not_found(resource: str) -> IonError:
    return IonError(404, "NOT_FOUND", f"resource '{resource}' not found")


def json_body(request: SandboxRequest) -> Any:
    try:
        return request.json()
    except ValueError as exc:
        raise invalid(f"invalid JSON payload: {exc}") from exc


def int_arg(request: SandboxRequest, name: str, default: int | None = None) -> int | None:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise invalid(f"invalid value for {name}: {raw!r} is not an integer") from exc


def encode_token(offset: int, size: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}:s{size}".encode()).decode().rstrip("=")


def page_window(request: SandboxRequest) -> tuple[int, int]:
    """(offset, size) from ``pageSize`` / ``pageToken``; the spec's 400 when both are missing."""
    size = int_arg(request, "pageSize")
    token = request.arg("pageToken") or ""
    if size is None and not token:
        raise invalid("At least one of page_size and page_token must be present")
    offset = 0
    if token:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            offset_part, size_part = raw.split(":")
            offset, token_size = int(offset_part[1:]), int(size_part[1:])
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise invalid(f"invalid page token {token!r}") from exc
        size = size or token_size
    if size is None or size <= 0:
        size = DEFAULT_PAGE_SIZE
    return offset, min(size, MAX_PAGE_SIZE)


def page(rows: list[Any], offset: int, size: int) -> tuple[list[Any], str]:
    chunk = rows[offset:offset + size]
    next_token = encode_token(offset + size, size) if offset + size < len(rows) else ""
    return chunk, next_token
