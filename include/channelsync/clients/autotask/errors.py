"""Autotask error codes and the mapper from Autotask's error bodies to them (docs/vendors/autotask.md §A.8).

Autotask answers most business-rule refusals with HTTP 500 and ``{"errors": [...]}``: those are
fatal (sending them again changes nothing). An HTTP 500 *without* that array is a server failure
(ASP.NET's ``{"Message": "An error has occurred."}``) and stays retriable. The thread-limit refusal
is recognised by its text whatever its status; the hourly threshold answers 429.
"""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from channelsync.clients.http import parse_retry_after
from channelsync.errors import ApiError, FatalApiError, RetriableApiError, define, define_transport_codes

SYSTEM = "autotask"

AUTOTASK_AUTH_FAILED = define("AUTOTASK_AUTH_FAILED", SYSTEM,
                              "Autotask refused the credentials (user name, secret or integration code)")
AUTOTASK_USER_LOCKED = define("AUTOTASK_USER_LOCKED", SYSTEM, "The Autotask API user is locked")
AUTOTASK_ZONE_UNKNOWN = define("AUTOTASK_ZONE_UNKNOWN", SYSTEM, "Autotask could not determine the user's zone")
AUTOTASK_THRESHOLD_EXCEEDED = define("AUTOTASK_THRESHOLD_EXCEEDED", SYSTEM,
                                     "The tenant's hourly Autotask API request threshold is used up")
AUTOTASK_THREAD_LIMIT = define("AUTOTASK_THREAD_LIMIT", SYSTEM,
                               "Autotask refused a call over its concurrent-thread limit per endpoint")
AUTOTASK_BUDGET_GUARD = define("AUTOTASK_BUDGET_GUARD", SYSTEM,
                               "channelsync stopped before using more than its share of the Autotask hourly threshold")
AUTOTASK_DUPLICATE_SERVICE = define("AUTOTASK_DUPLICATE_SERVICE", SYSTEM,
                                    "An Autotask service with this name already exists (IX_service)")
AUTOTASK_VALIDATION = define("AUTOTASK_VALIDATION", SYSTEM, "Autotask refused the record (a field or business rule)")
AUTOTASK_UNKNOWN_FIELD = define("AUTOTASK_UNKNOWN_FIELD", SYSTEM, "A query named a field the entity does not have")
AUTOTASK_QUERY_INVALID = define("AUTOTASK_QUERY_INVALID", SYSTEM,
                                "Autotask refused the query (filter, MaxRecords or OR-condition limit)")
AUTOTASK_NOT_FOUND = define("AUTOTASK_NOT_FOUND", SYSTEM, "The Autotask record does not exist")
AUTOTASK_PERMISSION = define("AUTOTASK_PERMISSION", SYSTEM, "The Autotask API user lacks the permission")
AUTOTASK_METHOD_NOT_ALLOWED = define("AUTOTASK_METHOD_NOT_ALLOWED", SYSTEM,
                                     "Autotask does not support this operation on the entity (405)")
TRANSPORT_CODES = define_transport_codes("AUTOTASK", SYSTEM, "Autotask")

_AUTH = re.compile(r"authenticat|integrationcode is invalid|integration code|user name|unauthori|secret", re.I)
_QUERY = re.compile(r"maxCountOfRecordsToReturn|'OR' conditions|filter|paging token|user-defined field may", re.I)


def error_messages(response: requests.Response) -> list[str] | None:
    """The ``errors`` array of an Autotask body (strings, or objects with ``message``), or None."""
    try:
        body: Any = response.json()
    except (ValueError, json.JSONDecodeError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return None
    return [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in body["errors"]]


def map_error(response: requests.Response) -> ApiError | None:
    """HttpTransport ``error_mapper`` for Autotask."""
    status = response.status_code
    messages = error_messages(response)
    text = "; ".join(messages or [])
    common: dict[str, Any] = {"system": SYSTEM, "status": status, "vendor_message": text or None}
    if "thread threshold" in text.lower():
        return RetriableApiError(f"Autotask thread limit: {text}", code=AUTOTASK_THREAD_LIMIT,
                                 retry_after=parse_retry_after(response.headers.get("Retry-After")) or 0.2, **common)
    if status == 429:
        return RetriableApiError(f"Autotask request threshold reached: {text}", code=AUTOTASK_THRESHOLD_EXCEEDED,
                                 retry_after=parse_retry_after(response.headers.get("Retry-After")), **common)
    if status == 401:
        code = AUTOTASK_USER_LOCKED if "locked" in text.lower() else AUTOTASK_AUTH_FAILED
        return FatalApiError(f"Autotask refused the credentials: {text}", code=code, **common)
    if status == 405:
        return FatalApiError("Autotask does not support this method here", code=AUTOTASK_METHOD_NOT_ALLOWED, **common)
    if messages is None:
        return None  # no Autotask body: the shared policy decides (5xx retriable, other 4xx fatal)
    if status >= 500 or status == 400:
        return FatalApiError(f"Autotask refused the request: {text}", code=_code_for(text), **common)
    return None


def _code_for(text: str) -> str:
    lowered = text.lower()
    if "ix_service" in lowered:
        return AUTOTASK_DUPLICATE_SERVICE
    if "zone information could not be determined" in lowered:
        return AUTOTASK_ZONE_UNKNOWN
    if lowered.startswith("unable to find") and lowered.rstrip(". ").endswith(" entity"):
        return AUTOTASK_UNKNOWN_FIELD
    if lowered.startswith("unable to find a"):
        return AUTOTASK_NOT_FOUND
    if "no matching records found" in lowered:
        return AUTOTASK_NOT_FOUND
    if "adequate permissions" in lowered:
        return AUTOTASK_PERMISSION
    if _AUTH.search(text):
        return AUTOTASK_AUTH_FAILED
    if _QUERY.search(text):
        return AUTOTASK_QUERY_INVALID
    return AUTOTASK_VALIDATION
