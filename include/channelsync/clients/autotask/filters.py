"""A builder for Autotask's query language (docs/vendors/autotask.md §A.5).

    Filter.eq("manufacturerProductName", mpn)
    Filter.and_(Filter.eq("isActive", True), Filter.or_(Filter.gt("unitCost", 10), Filter.not_exist("sku")))
    Filter.in_("id", ids)      # one condition per value towards the 500 'OR' limit
    Filter.everything()        # the tautology clients use to list every record

Values are plain JSON: nothing is pasted into strings, so a SKU with quotes cannot inject anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

MAX_OR_CONDITIONS = 500
# Chunk size for long ``in`` lists: under the 500 limit with room for the other conditions of a query.
DEFAULT_IN_CHUNK = 200
LEAF_OPS = ("eq", "noteq", "gt", "gte", "lt", "lte", "beginsWith", "endsWith", "contains", "exist", "notExist",
            "in", "notIn")


@dataclass(frozen=True)
class Filter:
    expression: dict[str, Any]

    # ---- leaves -------------------------------------------------------------------------------------
    @classmethod
    def leaf(cls, op: str, field: str, value: Any = None, *, udf: bool = False) -> Filter:
        if op not in LEAF_OPS:  # the real API silently ignores unknown operators: refuse them here
            raise ValueError(f"unknown Autotask filter operator {op!r}")
        expression: dict[str, Any] = {"op": op, "field": field}
        if op not in ("exist", "notExist"):
            expression["value"] = list(value) if op in ("in", "notIn") else value
        if udf:
            expression["udf"] = True
        return cls(expression)

    @classmethod
    def eq(cls, field: str, value: Any, *, udf: bool = False) -> Filter:
        return cls.leaf("eq", field, value, udf=udf)

    @classmethod
    def noteq(cls, field: str, value: Any, *, udf: bool = False) -> Filter:
        return cls.leaf("noteq", field, value, udf=udf)

    @classmethod
    def gt(cls, field: str, value: Any) -> Filter:
        return cls.leaf("gt", field, value)

    @classmethod
    def gte(cls, field: str, value: Any) -> Filter:
        return cls.leaf("gte", field, value)

    @classmethod
    def lt(cls, field: str, value: Any) -> Filter:
        return cls.leaf("lt", field, value)

    @classmethod
    def lte(cls, field: str, value: Any) -> Filter:
        return cls.leaf("lte", field, value)

    @classmethod
    def begins_with(cls, field: str, value: str, *, udf: bool = False) -> Filter:
        return cls.leaf("beginsWith", field, value, udf=udf)

    @classmethod
    def ends_with(cls, field: str, value: str, *, udf: bool = False) -> Filter:
        return cls.leaf("endsWith", field, value, udf=udf)

    @classmethod
    def contains(cls, field: str, value: str, *, udf: bool = False) -> Filter:
        return cls.leaf("contains", field, value, udf=udf)

    @classmethod
    def exist(cls, field: str, *, udf: bool = False) -> Filter:
        return cls.leaf("exist", field, udf=udf)

    @classmethod
    def not_exist(cls, field: str, *, udf: bool = False) -> Filter:
        return cls.leaf("notExist", field, udf=udf)

    @classmethod
    def in_(cls, field: str, values: Iterable[Any]) -> Filter:
        return cls.leaf("in", field, list(values))

    @classmethod
    def not_in(cls, field: str, values: Iterable[Any]) -> Filter:
        return cls.leaf("notIn", field, list(values))

    @classmethod
    def everything(cls) -> Filter:
        return cls.gte("id", 0)

    # ---- groups -------------------------------------------------------------------------------------
    @classmethod
    def and_(cls, *filters: Filter) -> Filter:
        return cls({"op": "and", "items": [f.expression for f in filters]})

    @classmethod
    def or_(cls, *filters: Filter) -> Filter:
        return cls({"op": "or", "items": [f.expression for f in filters]})

    # ---- limits -------------------------------------------------------------------------------------
    def or_conditions(self) -> int:
        """What this filter counts towards the 500 'OR' conditions limit (same rule as the server)."""
        return _count(self.expression, in_or=False)

    def udf_filters(self) -> int:
        return _udfs(self.expression)


def _count(expression: dict[str, Any], *, in_or: bool) -> int:
    op = expression.get("op")
    if op in ("and", "or"):
        return sum(_count(item, in_or=in_or or op == "or") for item in expression.get("items", []))
    if op in ("in", "notIn") and isinstance(expression.get("value"), list):
        return len(expression["value"])
    return 1 if in_or else 0


def _udfs(expression: dict[str, Any]) -> int:
    if expression.get("op") in ("and", "or"):
        return sum(_udfs(item) for item in expression.get("items", []))
    return 1 if expression.get("udf") else 0


def chunked_in(field: str, values: Sequence[Any], size: int = DEFAULT_IN_CHUNK) -> Iterator[Filter]:
    """``in`` filters of at most ``size`` values each, so every query stays under the OR limit."""
    if not 1 <= size <= MAX_OR_CONDITIONS:
        raise ValueError("chunk size must be between 1 and 500")
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), size):
        yield Filter.in_(field, unique[start:start + size])


def build_query(
    filters: Filter | Sequence[Filter], *, include_fields: Sequence[str] | None = None, max_records: int = 500
) -> dict[str, Any]:
    """The query body; refuses locally what the server would refuse (limits, more than one UDF)."""
    items = [filters] if isinstance(filters, Filter) else list(filters)
    if not 1 <= max_records <= 500:
        raise ValueError("MaxRecords must be between 1 and 500")
    if sum(f.or_conditions() for f in items) > MAX_OR_CONDITIONS:
        raise ValueError("Autotask queries are limited to 500 'OR' conditions: use chunked_in()")
    if sum(f.udf_filters() for f in items) > 1:
        raise ValueError("Autotask allows one UDF filter per query")
    query: dict[str, Any] = {"filter": [f.expression for f in items], "MaxRecords": max_records}
    if include_fields:
        fields = list(include_fields)
        if not any(name.lower() == "id" for name in fields):
            fields.insert(0, "id")  # result sets over 500 rows need Id to page (A.5)
        query["IncludeFields"] = fields
    return query
