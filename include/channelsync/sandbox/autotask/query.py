"""The Autotask query language (docs/vendors/autotask.md §A.5): parse, validate, evaluate, page.

``{"filter": [...], "MaxRecords": 1..500, "IncludeFields": [...]}``; keys and field names are
case-insensitive; the top-level list is ANDed; 13 leaf operators plus ``and`` / ``or`` groups; an
unknown operator is silently ignored (observed on the real API); string comparison is
case-insensitive (SQL Server collation).
"""

from __future__ import annotations

import base64
import hashlib
import json
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from channelsync.sandbox.autotask.metadata import EntityMeta

Predicate = Callable[[dict[str, Any]], bool]
MAX_OR_CONDITIONS = 500


class QueryError(Exception):
    """Answered as HTTP 500 ``{"errors": [message]}``, as the real API does."""


@dataclass
class Query:
    predicate: Predicate
    max_records: int
    include_fields: list[str] | None
    fingerprint: str  # identifies the query, so a POSTed next page can be checked against it
    # (field, values): the first filter is ``eq`` / ``in`` on a reference field, so only rows whose field
    # coerces to one of the values can match, and an index can hand the predicate those rows alone
    hint: tuple[str, frozenset[Any]] | None = None


def _key(raw: dict[str, Any], name: str) -> Any:
    for key, value in raw.items():
        if key.lower() == name.lower():
            return value
    return None


def parse_query(raw: Any, meta: EntityMeta, *, count_only: bool = False) -> Query:
    if not isinstance(raw, dict):
        raise QueryError("The query is missing or is not valid JSON.")  # assumption: wording not documented
    filters = _key(raw, "filter")
    if filters is None:
        # A query without a filter array is refused (observed: HTTP 500); an empty array matches nothing.
        raise QueryError("A filter is required. Use {\"op\":\"exist\",\"field\":\"id\"} to query every record.")
    if not isinstance(filters, list):
        raise QueryError("filter must be an array of filter expressions.")
    max_records = _key(raw, "maxRecords")
    if max_records is None:
        max_records = 500
    if not isinstance(max_records, int) or isinstance(max_records, bool) or not 1 <= max_records <= 500:
        raise QueryError("maxCountOfRecordsToReturn must be between 1 and 500")
    include = _key(raw, "includeFields") or None
    include_fields = None
    if include and not count_only:
        include_fields = [_field(meta, str(name), udf_ok=meta.has_udfs) for name in include]
    counter = {"or": 0, "udf": 0}
    if filters:
        children = [_compile(item, meta, counter, in_or=False) for item in filters]
        predicate: Predicate = lambda row: all(child(row) for child in children)  # noqa: E731
    else:
        predicate = lambda row: False  # noqa: E731
    if counter["or"] > MAX_OR_CONDITIONS:
        raise QueryError("Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions.")
    if counter["udf"] > 1:
        # Documented limit (one UDF filter per query); the exact wording is an assumption.
        raise QueryError("Only one user-defined field may be used in a query filter.")
    canonical = json.dumps({"f": filters, "m": max_records, "i": include}, sort_keys=True, default=str)
    fingerprint = hashlib.sha1(canonical.encode()).hexdigest()[:16]
    return Query(predicate, max_records, include_fields, fingerprint, _hint(filters[0], meta) if filters else None)


def is_reference(name: str) -> bool:
    """The fields the emulator indexes: ids and references to other entities (never changed in place)."""
    return name == "id" or name.endswith("ID")


def _hint(item: dict[str, Any], meta: EntityMeta) -> tuple[str, frozenset[Any]] | None:
    """The first (ANDed) filter as an index look-up, when it is one. Exact: the predicate tests the first
    filter first, so a row outside the look-up fails there without any other filter being evaluated."""
    op = str(_key(item, "op") or "").lower()
    if op not in ("eq", "in") or _key(item, "udf"):
        return None
    name = _field(meta, str(_key(item, "field") or ""))
    data_type = meta.fields[name]
    if not is_reference(name) or data_type not in ("integer", "long", "short"):
        return None
    value = _key(item, "value")
    if op == "eq":
        target = coerce(value, data_type)
        return None if target is None else (name, frozenset({target}))
    values = value if isinstance(value, list) else [value]
    return name, frozenset(v for v in (coerce(v, data_type) for v in values) if v is not None)


def _field(meta: EntityMeta, name: str, *, udf_ok: bool = False) -> str:
    found = meta.lower.get(name.lower())
    if found is not None:
        return found
    if udf_ok:
        return name  # UDF names are allowed in IncludeFields
    raise QueryError(f"Unable to find {name} in the {meta.singular} Entity")


def _compile(item: Any, meta: EntityMeta, counter: dict[str, int], *, in_or: bool) -> Predicate:
    if not isinstance(item, dict):
        raise QueryError("Invalid filter expression: each filter must be an object.")
    op = str(_key(item, "op") or "").lower()
    if op in ("and", "or"):
        items = _key(item, "items") or []
        children = [_compile(child, meta, counter, in_or=in_or or op == "or") for child in items]
        if op == "and":
            return lambda row: all(child(row) for child in children)
        return lambda row: any(child(row) for child in children) if children else True
    name = str(_key(item, "field") or "")
    is_udf = bool(_key(item, "udf"))
    value = _key(item, "value")
    if op in ("in", "notin") and isinstance(value, list):
        counter["or"] += len(value)
    elif in_or:
        counter["or"] += 1
    if is_udf:
        counter["udf"] += 1
        getter: Callable[[dict[str, Any]], Any] = _udf_getter(name)
        data_type = "string"
    else:
        field_name = _field(meta, name)
        data_type = meta.fields[field_name]
        getter = lambda row: row.get(field_name)  # noqa: E731
    test = _leaf(op, value, data_type)
    if test is None:  # unknown operator: the real API ignores it
        return lambda row: True
    return lambda row: test(getter(row))


def _udf_getter(name: str) -> Callable[[dict[str, Any]], Any]:
    lowered = name.lower()

    def get(row: dict[str, Any]) -> Any:
        for udf in row.get("userDefinedFields") or ():
            if str(udf.get("name", "")).lower() == lowered:
                return udf.get("value")
        return None

    return get


def coerce(value: Any, data_type: str) -> Any:
    """A comparable form of a filter value or stored value (strings fold case, datetimes parse)."""
    if value is None:
        return None
    try:
        if data_type in ("integer", "long", "short"):
            return int(value)
        if data_type == "decimal":
            return float(value)
        if data_type == "boolean":
            return value if isinstance(value, bool) else str(value).lower() == "true"
        if data_type == "datetime":
            text = str(value).replace("Z", "+00:00")
            parsed = datetime.fromisoformat(text)
            return parsed if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None)
    except (TypeError, ValueError) as exc:
        raise QueryError(f"The value '{value}' is not valid for a field of type {data_type}.") from exc
    return str(value).lower()


def _leaf(op: str, value: Any, data_type: str) -> Callable[[Any], bool] | None:
    if op == "exist":
        return lambda v: v is not None and v != ""
    if op == "notexist":
        return lambda v: v is None or v == ""
    if op in ("in", "notin"):
        values = value if isinstance(value, list) else [value]
        wanted = {coerce(v, data_type) for v in values}
        if op == "in":
            return lambda v: v is not None and coerce(v, data_type) in wanted
        return lambda v: v is None or coerce(v, data_type) not in wanted
    target = coerce(value, data_type)
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "eq": lambda a, b: a == b, "noteq": lambda a, b: a != b,
        "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
        "beginswith": lambda a, b: str(a).startswith(str(b)), "endswith": lambda a, b: str(a).endswith(str(b)),
        "contains": lambda a, b: str(b) in str(a),
    }
    compare = comparisons.get(op)
    if compare is None:
        return None
    if op == "noteq":
        return lambda v: v is None or coerce(v, data_type) != target
    if target is None:
        return lambda v: v is None if op == "eq" else False

    def test(v: Any) -> bool:
        if v is None:
            return False
        try:
            return compare(coerce(v, data_type), target)
        except TypeError:
            return False

    return test


def page(rows_by_id: list[dict[str, Any]], ids: list[int], query: Query, after: int) -> tuple[list[dict], bool]:
    """The next page after id ``after`` (ids ascending) and whether more rows match beyond it."""
    start = bisect_right(ids, after)
    out: list[dict[str, Any]] = []
    for row in rows_by_id[start:]:
        if query.predicate(row):
            if len(out) == query.max_records:
                return out, True
            out.append(row)
    return out, False


def project(row: dict[str, Any], include: list[str] | None) -> dict[str, Any]:
    """IncludeFields: keep the named fields, always ``id`` and ``userDefinedFields`` (A.5)."""
    if not include:
        return row
    out = {"id": row.get("id")}
    for name in include:
        if name in row:
            out[name] = row[name]
    if "userDefinedFields" in row:
        wanted = {n.lower() for n in include}
        out["userDefinedFields"] = [u for u in row["userDefinedFields"] if str(u.get("name", "")).lower() in wanted]
    return out


def encode_token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_token(token: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise QueryError("The paging token is not valid.") from exc
    if not isinstance(data, dict):
        raise QueryError("The paging token is not valid.")
    return data
