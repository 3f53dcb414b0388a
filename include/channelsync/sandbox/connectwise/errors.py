"""ConnectWise error bodies (ErrorResponseMessage, docs/vendors/connectwise.md §B.5).

``{"code": str, "message": str, "errors": [{"code", "message", "resource", "field"}] | null}``.
Inner codes used: ``NullField`` (required value missing), ``MaxLengthField`` (the real message text
"The field X must be a string with a maximum length of N."), ``ObjectExists`` (pyconnectwise maps
it to ObjectExistsError), ``NotFound`` (a reference that does not resolve: "… not found"),
``InvalidField`` / ``InvalidValue``. Outer codes: ``InvalidObject`` (400 validation), ``NotFound``,
``Unauthorized``, ``Security`` (403), ``MethodNotAllowed``, ``Conflict`` (409 record in use),
``InvalidConditions`` / ``BadRequest`` (malformed query string; ASSUMPTION: the exact code of a
bad ``conditions`` answer is not documented, a 400 with a message naming the position is).
"""

from __future__ import annotations

from typing import Any

from channelsync.sandbox.framework import SandboxResponse, json_response


class CwError(Exception):
    """Raised inside handlers; turned into the vendor's error body by the emulator."""

    def __init__(self, status: int, code: str, message: str, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def response(self) -> SandboxResponse:
        return json_response(self.status, {"code": self.code, "message": self.message, "errors": self.errors},
                             self.headers)


def field_error(code: str, message: str, resource: str, field: str) -> dict[str, Any]:
    return {"code": code, "message": message, "resource": resource, "field": field}


def invalid_object(resource: str, errors: list[dict[str, Any]]) -> CwError:
    return CwError(400, "InvalidObject", f"{resource} object is invalid", errors)


def not_found(what: str, record_id: Any) -> CwError:
    return CwError(404, "NotFound", f"{what} recordId {record_id} not found.")


def bad_request(message: str, code: str = "BadRequest") -> CwError:
    return CwError(400, code, message)
