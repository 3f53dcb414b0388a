"""Reading what a vendor API answered, and refusing what cannot be read (R3: bad and hostile input).

- :func:`json_body`: the body as JSON, or a coded :class:`~channelsync.errors.FatalApiError` (the
  client's ``<PREFIX>_BAD_RESPONSE``) when it is not: truncated, not UTF-8/16/32, nested past what the
  parser takes, an integer of more than 4,300 digits. ``NaN`` / ``Infinity`` (not JSON, but Python's
  parser takes them) become non-finite :class:`~decimal.Decimal` values for the record checks to refuse.
  The message never quotes the body (a token answer is all secret).
- :func:`expect_object`, :func:`expect_records`, :func:`expect_text`, :func:`expect_int`: the shape an
  envelope must have (a page that is not an object, records that are not objects, a cursor that is not
  text): the whole answer is refused, since nothing in it can be trusted to be what it claims.
- :func:`check_records`: item-level checks of records that are written on (invoice lines): each record
  passes or is quarantined with the reason (the first field that is missing or of the wrong type), the
  others go on.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from channelsync.errors import FatalApiError, OutcomeUnknownError

# The largest magnitudes a PSA stores (as quality.suite's numbers_storable).
MONEY_MAX = Decimal(10) ** 12
COUNT_MAX = 2**31 - 1


def _constant(name: str) -> Decimal:  # NaN, Infinity, -Infinity
    return Decimal(name)


def parse_json(content: bytes | str, *, what: str, system: str, code: str, status: int | None = None,
               parse_float: Callable[[str], Any] | None = Decimal, applied: bool = False) -> Any:
    """``content`` as JSON, or a coded refusal saying why (never quoting it). ``applied``: the answer
    to a write the server accepted (2xx): an unreadable one is an :class:`OutcomeUnknownError` (the
    write happened, what it made is unknown: look it up), never a refusal a retry would repeat."""
    try:
        return json.loads(content, parse_float=parse_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        reason = f"{exc.msg} at character {exc.pos} of {len(content)}"
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8/16/32 text ({exc.reason} at byte {exc.start})"
    except (ValueError, RecursionError, TypeError) as exc:
        reason = f"{type(exc).__name__}: {str(exc)[:120]}"
    if applied:
        raise OutcomeUnknownError(f"{system}: {what} is not valid JSON ({reason}); the write was accepted but "
                                  "what it made is unknown: look it up before sending it again", code=code,
                                  system=system, status=status)
    raise FatalApiError(f"{system}: {what} is not valid JSON ({reason})", code=code, system=system, status=status)


def json_body(response: requests.Response, *, system: str, code: str,
              parse_float: Callable[[str], Any] | None = Decimal, applied: bool = False) -> Any:
    request = getattr(response, "request", None)
    what = f"the answer to {request.method} {str(request.url).split('?')[0]}" if request is not None else "the answer"
    return parse_json(response.content, what=what, system=system, code=code, status=response.status_code,
                      parse_float=parse_float, applied=applied)


def error_body(response: requests.Response) -> dict[str, Any]:
    """An error answer's JSON object, or ``{}`` when the body is not one (not JSON, too deep, a list):
    for error mappers, which fall back to the raw text."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def _refuse(system: str, code: str, message: str) -> FatalApiError:
    return FatalApiError(f"{system}: {message}", code=code, system=system)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def expect_object(value: Any, what: str, *, system: str, code: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _refuse(system, code, f"{what} is {_kind(value)}, expected an object")
    return value


def expect_records(value: Any, what: str, *, system: str, code: str) -> list[dict[str, Any]]:
    """A list of objects (missing or null: empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _refuse(system, code, f"{what} is {_kind(value)}, expected a list")
    for at, item in enumerate(value):
        if not isinstance(item, dict):
            raise _refuse(system, code, f"{what}[{at}] is {_kind(item)}, expected an object")
    return value


TOKEN_MAX = 4096


def expect_text(value: Any, what: str, *, system: str, code: str, required: bool = False,
                token: bool = False) -> str:
    """Text; ``token``: a credential, at most 4,096 printable ASCII characters without spaces (never
    quoted in the message)."""
    if value is None or value == "":
        if required:
            raise _refuse(system, code, f"{what} is missing")
        return ""
    if not isinstance(value, str):
        raise _refuse(system, code, f"{what} is {_kind(value)}, expected text")
    if token and not (len(value) <= TOKEN_MAX and value.isascii() and value.isprintable() and " " not in value):
        raise _refuse(system, code, f"{what} is not a token ({len(value)} characters, not printable ASCII "
                                    f"or too long)")
    return value


def whole_number(value: Any) -> int | None:
    """An int from a JSON number or numeric text that is a whole number within 64 bits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 2**63 else None
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 40:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            return None
    if isinstance(value, float):
        value = Decimal(value) if math.isfinite(value) else None
    if not isinstance(value, Decimal) or not value.is_finite() or value != value.to_integral_value():
        return None
    if abs(value) >= 2**63:
        return None
    return int(value)


def expect_int(value: Any, what: str, *, system: str, code: str, default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    number = whole_number(value)
    if number is None:
        raise _refuse(system, code, f"{what} is {_kind(value)} {_shown(value)}, expected a whole number")
    return number


def expect_seconds(value: Any, what: str, *, system: str, code: str, default: float) -> float:
    """A token lifetime: a finite number of seconds between 0 and a year (missing: ``default``)."""
    if value is None or value == "":
        return default
    number = None if isinstance(value, bool) else _number(value)
    if number is None or not 0 <= number <= 366 * 86400:
        raise _refuse(system, code, f"{what} is {_kind(value)} {_shown(value)}, expected seconds (0 to a year)")
    return float(number)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:40]}..."


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(value) if math.isfinite(value) else Decimal("NaN")
    elif isinstance(value, str) and 0 < len(value.strip()) <= 40:
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


# --- item-level checks ----------------------------------------------------------------------------

# A field check: (value) → the problem, or None when the value is fine.
Check = Callable[[Any], str | None]


def text(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "is missing"
    return None if isinstance(value, str) else f"is {_kind(value)}, expected text"


def ident(value: Any) -> str | None:
    """An identifier: a whole number, or non-empty text."""
    if isinstance(value, str):
        return text(value)
    return None if whole_number(value) is not None else (
        "is missing" if value is None else f"is {_kind(value)} {_shown(value)}, expected an id")


def money(value: Any) -> str | None:
    """A JSON number (not text: a price sent as text is a different API) that a PSA can store."""
    if value is None:
        return "is missing"
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return f"is {_kind(value)} {_shown(value)}, expected a number"
    number = _number(value)
    if number is None:
        return f"is {_shown(value)}, not a finite number"
    if abs(number) > MONEY_MAX:
        return f"is {_shown(value)}, beyond ±{MONEY_MAX:,} (more than a PSA can store)"
    return None


def quantity(value: Any) -> str | None:
    problem = money(value)
    if problem is None and abs(Decimal(value)) > COUNT_MAX:
        return f"is {_shown(value)}, beyond ±{COUNT_MAX:,}"
    return problem


def ratio(value: Any) -> str | None:
    problem = money(value)
    if problem is None and not 0 <= Decimal(value) <= 1:
        return f"is {_shown(value)}, not between 0 and 1"
    return problem


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9:.]{0,15}(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?")


def iso_date(value: Any) -> str | None:
    """``YYYY-MM-DD``, a time part after ``T`` allowed (and ignored)."""
    problem = text(value)
    if problem:
        return problem
    if _ISO_DATE.fullmatch(value.strip()):
        try:
            date.fromisoformat(value.strip()[:10])
            return None
        except ValueError:
            pass
    return f"{_shown(value)} is not a date (YYYY-MM-DD)"


def currency(value: Any) -> str | None:
    problem = text(value)
    if problem:
        return problem
    return None if len(value.strip()) == 3 and value.strip().isascii() and value.strip().isalpha() else (
        f"{_shown(value)} is not a currency code")


def nested(key: str, check: Check) -> Check:
    """The field ``key`` of an object-valued field."""
    def inner(value: Any) -> str | None:
        if not isinstance(value, dict):
            return "is missing" if value is None else f"is {_kind(value)}, expected an object"
        problem = check(value.get(key))
        return f".{key} {problem}" if problem else None

    return inner


@dataclass(frozen=True)
class Quarantined:
    """A record that cannot be used as it stands: where it was, its key when one could be read, why."""

    index: int
    key: str
    reason: str


@dataclass
class CheckedRecords:
    good: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)


def check_records(records: Iterable[Any], fields: Mapping[str, Check], *, key: str = "id",
                  period: tuple[str, str] | None = None) -> CheckedRecords:
    """Each record passes every field check (and, with ``period``, starts no later than it ends) or is
    quarantined with its first problem."""
    out = CheckedRecords()
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            out.quarantined.append(Quarantined(index, f"#{index}", f"record is {_kind(record)}, expected an object"))
            continue
        raw_key = record.get(key)
        record_key = str(raw_key)[:100] if isinstance(raw_key, str | int) and not isinstance(raw_key, bool) \
            else f"#{index}"
        problem = next((f"{name} {p}" for name, check in fields.items()
                        if (p := check(record.get(name))) is not None), None)
        if problem is None and period is not None and str(record[period[0]])[:10] > str(record[period[1]])[:10]:
            problem = f"{period[0]} is after {period[1]}"
        if problem is None:
            out.good.append(record)
        else:
            out.quarantined.append(Quarantined(index, record_key, problem))
    return out
