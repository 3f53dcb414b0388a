"""ConnectWise error codes and the mapper from ErrorResponseMessage bodies to coded errors.

Bodies: ``{"code", "message", "errors": [{"code", "message", "resource", "field"}] | null}``; the
429 body is ``{"error": "ConnectWiseAPI", "message": "Too many requests…"}`` (docs/vendors/connectwise.md §B.5).
429 and 5xx are left to the shared policy (retriable; codes ``CW_RATE_LIMITED`` / ``CW_SERVER_ERROR``
through the ``CW`` prefix); every other 4xx becomes a :class:`ConnectWiseApiError` (fatal).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from channelsync.errors import ApiError, FatalApiError, define, define_transport_codes, redact

SYSTEM = "connectwise"

CW_AUTH_FAILED = define("CW_AUTH_FAILED", SYSTEM, "ConnectWise refused the API keys (company+public:private)")
CW_CLIENT_ID_MISSING = define("CW_CLIENT_ID_MISSING", SYSTEM, "The clientId header is missing or not registered")
CW_FORBIDDEN = define("CW_FORBIDDEN", SYSTEM, "The API member's security role does not allow this action")
CW_REQUIRED_FIELD = define("CW_REQUIRED_FIELD", SYSTEM, "A required field is missing (NullField)")
CW_FIELD_TOO_LONG = define("CW_FIELD_TOO_LONG", SYSTEM, "A value is longer than the field allows (MaxLengthField)")
CW_DUPLICATE = define("CW_DUPLICATE", SYSTEM, "A record with this unique value already exists (ObjectExists)")
CW_REFERENCE_NOT_FOUND = define("CW_REFERENCE_NOT_FOUND", SYSTEM,
                                "A referenced record (subcategory, type, company…) does not exist")
CW_INVALID_OBJECT = define("CW_INVALID_OBJECT", SYSTEM, "ConnectWise refused the record as invalid")
CW_BAD_REQUEST = define("CW_BAD_REQUEST", SYSTEM, "ConnectWise refused the request (bad conditions or parameters)")
CW_NOT_FOUND = define("CW_NOT_FOUND", SYSTEM, "The record or resource does not exist")
CW_METHOD_NOT_ALLOWED = define("CW_METHOD_NOT_ALLOWED", SYSTEM, "The resource does not support this method")
CW_CONFLICT = define("CW_CONFLICT", SYSTEM, "The record is in use or conflicts with another (409)")
TRANSPORT_CODES = define_transport_codes("CW", SYSTEM, "ConnectWise")
CW_CLIENT_ERROR = TRANSPORT_CODES.client_error
CW_CODEBASE_DISCOVERY_FAILED = define("CW_CODEBASE_DISCOVERY_FAILED", SYSTEM,
                                      "login/companyinfo did not return a codebase for the company")

# Inner ValidationError codes → our codes, most specific first.
_INNER = (("ObjectExists", CW_DUPLICATE), ("NullField", CW_REQUIRED_FIELD), ("MaxLengthField", CW_FIELD_TOO_LONG),
          ("NotFound", CW_REFERENCE_NOT_FOUND))


class ConnectWiseApiError(FatalApiError):
    """A refused ConnectWise request; ``errors`` holds the vendor's inner validation errors."""

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors = errors or []

    @property
    def fields(self) -> list[str]:
        return [str(e.get("field")) for e in self.errors if e.get("field")]


def make_error_mapper(secrets: tuple[str, ...]) -> Callable[[requests.Response], ApiError | None]:
    def mapper(response: requests.Response) -> ApiError | None:
        status = response.status_code
        if status == 429 or status >= 500:
            return None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        vendor_code = str(body.get("code") or body.get("error") or "")
        message = redact(str(body.get("message") or response.text[:300]), secrets)
        inner = [e for e in (body.get("errors") or []) if isinstance(e, dict)]
        code = _code(status, vendor_code, message, inner)
        detail = "; ".join(redact(str(e.get("message")), secrets) for e in inner)
        text = f"ConnectWise {status} {vendor_code}: {message}" + (f" ({detail})" if detail else "")
        return ConnectWiseApiError(text, errors=inner, code=code, system=SYSTEM, status=status,
                                   vendor_message=message)

    return mapper


def _code(status: int, vendor_code: str, message: str, inner: list[dict[str, Any]]) -> str:
    if status == 401:
        return CW_AUTH_FAILED
    if status == 403:
        return CW_FORBIDDEN
    if status == 404:
        return CW_NOT_FOUND
    if status == 405:
        return CW_METHOD_NOT_ALLOWED
    if status == 409:
        return CW_CONFLICT
    if status == 400:
        if "clientid" in (vendor_code + message).lower():
            return CW_CLIENT_ID_MISSING
        inner_codes = {str(e.get("code")) for e in inner}
        for vendor, ours in _INNER:
            if vendor in inner_codes:
                return ours
        return CW_INVALID_OBJECT if vendor_code == "InvalidObject" else CW_BAD_REQUEST
    return CW_CLIENT_ERROR
