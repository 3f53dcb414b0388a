"""A safe builder for ConnectWise ``conditions`` strings.

Values are never pasted into the query: each goes through :func:`literal`, which quotes strings in
double quotes and escapes ``\\`` and ``"`` with a backslash, so a SKU such as ``AB"C`` or
``X\\" or id > 0`` stays one string literal and cannot add a clause. Field names are checked
against the path grammar (``company/id``) so they cannot inject either.

    >>> and_(eq("inactiveFlag", False), in_("identifier", ["A1", 'B"2']))
    '(inactiveFlag = False) and (identifier in ("A1", "B\\\\"2"))'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")


def field(name: str) -> str:
    if not isinstance(name, str) or not _FIELD.match(name):
        raise ValueError(f"not a ConnectWise field path: {name!r}")
    return name


def quote(text: str) -> str:
    """``"..."`` with backslash and double quote escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: Any) -> str:
    """One value in conditions syntax: string, number, True/False, null, [datetime]."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return "[" + moment.strftime("%Y-%m-%dT%H:%M:%SZ") + "]"
    if isinstance(value, date):
        return "[" + value.strftime("%Y-%m-%dT00:00:00Z") + "]"
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"cannot use {type(value).__name__} in ConnectWise conditions")


def compare(name: str, op: str, value: Any) -> str:
    if op not in ("=", "!=", "<", "<=", ">", ">="):
        raise ValueError(f"unknown comparison operator {op!r}")
    return f"{field(name)} {op} {literal(value)}"


def eq(name: str, value: Any) -> str:
    return compare(name, "=", value)


def ne(name: str, value: Any) -> str:
    return compare(name, "!=", value)


def lt(name: str, value: Any) -> str:
    return compare(name, "<", value)


def le(name: str, value: Any) -> str:
    return compare(name, "<=", value)


def gt(name: str, value: Any) -> str:
    return compare(name, ">", value)


def ge(name: str, value: Any) -> str:
    return compare(name, ">=", value)


def like(name: str, pattern: str, *, negate: bool = False) -> str:
    """``like`` keeps ``%`` / ``*`` / ``_`` as wildcards: pass a pattern, not raw user text."""
    return f"{field(name)} {'not like' if negate else 'like'} {quote(pattern)}"


def contains(name: str, text: str, *, negate: bool = False) -> str:
    return f"{field(name)} {'not contains' if negate else 'contains'} {quote(text)}"


def in_(name: str, values: Iterable[Any], *, negate: bool = False) -> str:
    items = [literal(v) for v in values]
    if not items:
        raise ValueError("an in (...) condition needs at least one value")
    return f"{field(name)} {'not in' if negate else 'in'} ({', '.join(items)})"


def not_in(name: str, values: Iterable[Any]) -> str:
    return in_(name, values, negate=True)


def is_null(name: str) -> str:
    return f"{field(name)} = null"


def not_null(name: str) -> str:
    return f"{field(name)} != null"


def and_(*parts: str | None) -> str:
    return _join("and", parts)


def or_(*parts: str | None) -> str:
    return _join("or", parts)


def not_(part: str) -> str:
    return f"not ({part})"


def _join(word: str, parts: Iterable[str | None]) -> str:
    kept = [p for p in parts if p]
    if len(kept) == 1:
        return kept[0]
    return f" {word} ".join(f"({p})" for p in kept)
