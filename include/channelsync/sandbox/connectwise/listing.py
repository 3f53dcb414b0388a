"""GET on a collection and ``/count``: conditions, childConditions, customFieldConditions, orderBy,
fields, navigable paging (``page``/``pageSize``, ``Link`` with first/prev/next/last) and forward-only
paging (``pagination-type: forward-only`` + ``pageId``), docs/vendors/connectwise.md §B.3.

Kept cheap: rows come id-ordered from a cached id index, the page is cut before projection, and with
forward-only paging the scan starts at ``pageId`` (bisect) and stops as soon as the page is full.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from channelsync.sandbox.connectwise import conditions as cond
from channelsync.sandbox.connectwise.errors import bad_request
from channelsync.sandbox.connectwise.models import ResourceSpec
from channelsync.sandbox.framework import SandboxRequest

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000

Predicate = Callable[[dict[str, Any]], bool]


@dataclass
class Query:
    predicate: Predicate | None
    order: list[tuple[str, bool]]  # (path, descending)
    fields: list[str] | None
    page: int
    page_size: int
    forward_only: bool
    page_id: int


def parse_query(request: SandboxRequest, spec: ResourceSpec, scope: Predicate | None = None) -> Query:
    predicates: list[Predicate] = [scope] if scope else []
    text = request.arg("conditions", case_insensitive=True)
    if text and text.strip():
        node = _parse(text, spec, "conditions")
        predicates.append(_plain_predicate(node))
    child = request.arg("childConditions", case_insensitive=True)
    if child and child.strip():
        predicates.append(_child_predicate(_parse(child, spec, "childConditions")))
    custom = request.arg("customFieldConditions", case_insensitive=True)
    if custom and custom.strip():
        predicates.append(_custom_predicate(_parse_plain(custom, "customFieldConditions")))
    forward_only = (request.headers.get("pagination-type") or "").strip().lower() == "forward-only"
    order_text = request.arg("orderBy", case_insensitive=True)
    if forward_only and order_text:
        raise bad_request("orderBy is not supported with forward-only pagination.")
    fields_text = request.arg("fields", case_insensitive=True)
    return Query(
        predicate=_all(predicates),
        order=_parse_order(order_text or "", spec),
        fields=[f.strip().strip("/") for f in fields_text.split(",") if f.strip()] if fields_text else None,
        page=max(1, _int_arg(request, "page", 1)),
        page_size=min(MAX_PAGE_SIZE, max(1, _int_arg(request, "pageSize", DEFAULT_PAGE_SIZE))),
        forward_only=forward_only,
        page_id=_int_arg(request, "pageId", 0),
    )


def _parse(text: str, spec: ResourceSpec, name: str) -> cond.Node:
    node = _parse_plain(text, name)
    for path in cond.paths(node):
        top = path.split("/", 1)[0]
        if top not in spec.fields:
            raise bad_request(f"Unknown field {top} in {name} for {spec.resource}.", "InvalidConditions")
    return node


def _parse_plain(text: str, name: str) -> cond.Node:
    try:
        return cond.parse(text)
    except cond.ConditionError as exc:
        raise bad_request(f"The {name} parameter is invalid: {exc}.", "InvalidConditions") from exc


def _all(predicates: list[Predicate]) -> Predicate | None:
    if not predicates:
        return None
    if len(predicates) == 1:
        return predicates[0]
    return lambda record: all(p(record) for p in predicates)


def _plain_predicate(node: cond.Node) -> Predicate:
    def matches(record: dict[str, Any]) -> bool:
        return cond.evaluate(node, lambda path: cond.resolve_path(record, path))

    return matches


def _child_predicate(node: cond.Node) -> Predicate:
    """childConditions: some element of the named array satisfies the whole expression."""
    array = cond.paths(node)[0].split("/", 1)[0]

    def matches(record: dict[str, Any]) -> bool:
        for child in record.get(array) or []:
            def resolve(path: str, child: Any = child) -> Any:
                head, _, rest = path.partition("/")
                if head == array:
                    return cond.resolve_path(child, rest) if rest else child
                return cond.resolve_path(record, path)

            if cond.evaluate(node, resolve):
                return True
        return False

    return matches


def _custom_predicate(node: cond.Node) -> Predicate:
    """customFieldConditions: ``caption="X" and value != null`` against one custom field at a time."""
    def matches(record: dict[str, Any]) -> bool:
        for custom in record.get("customFields") or []:
            def resolve(path: str, custom: Any = custom) -> Any:
                return cond.resolve_path(custom, path)

            if cond.evaluate(node, resolve):
                return True
        return False

    return matches


def _parse_order(text: str, spec: ResourceSpec) -> list[tuple[str, bool]]:
    order: list[tuple[str, bool]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        words = part.split()
        path = words[0].strip("/")
        direction = words[1].lower() if len(words) > 1 else "asc"
        if path.split("/", 1)[0] not in spec.fields or direction not in ("asc", "desc") or len(words) > 2:
            raise bad_request(f"orderBy {part!r} is invalid for {spec.resource}.")
        order.append((path, direction == "desc"))
    return order


def _int_arg(request: SandboxRequest, name: str, default: int) -> int:
    raw = request.arg(name, case_insensitive=True)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise bad_request(f"The value '{raw}' is not valid for {name}.") from exc


def _sort_key(path: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    def key(record: dict[str, Any]) -> tuple[int, Any]:
        value = cond.resolve_path(record, path)
        if value is None:
            return (0, 0)  # SQL Server sorts nulls first
        if isinstance(value, str):
            return (1, value.casefold())
        if isinstance(value, bool | int | float):
            return (2, value)
        return (3, str(value))

    return key


def ordered(rows: list[dict[str, Any]], order: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    """Rows arrive id-ascending; apply orderBy keys (stable sorts, last key first), id as tiebreak."""
    for path, descending in reversed(order):
        rows = sorted(rows, key=_sort_key(path), reverse=descending)
    return rows


def project(record: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """Partial response: ``id,name,status/id``; a path through an array keeps that field of each element."""
    if not fields:
        return record
    out: dict[str, Any] = {}
    for path in fields:
        _copy_path(record, out, path.split("/"))
    return out


def _copy_path(source: dict[str, Any], target: dict[str, Any], parts: list[str]) -> None:
    value = source.get(parts[0])
    if value is None:
        return
    if len(parts) == 1:
        target[parts[0]] = value
    elif isinstance(value, dict):
        _copy_path(value, target.setdefault(parts[0], {}), parts[1:])
    elif isinstance(value, list):
        existing = target.setdefault(parts[0], [{} for _ in value])
        for element, projected in zip(value, existing, strict=False):
            if isinstance(element, dict):
                _copy_path(element, projected, parts[1:])


def filtered(rows: Iterable[dict[str, Any]], predicate: Predicate | None) -> Iterator[dict[str, Any]]:
    return iter(rows) if predicate is None else (r for r in rows if predicate(r))


def forward_page(ids: list[int], get: Callable[[int], dict[str, Any] | None], query: Query
                 ) -> tuple[list[dict[str, Any]], bool]:
    """Rows with id > pageId, up to pageSize, and whether any matching row follows."""
    page: list[dict[str, Any]] = []
    start = bisect_right(ids, query.page_id)
    for index in range(start, len(ids)):
        record = get(ids[index])
        if record is None or (query.predicate is not None and not query.predicate(record)):
            continue
        if len(page) == query.page_size:
            return page, True
        page.append(record)
    return page, False


def link_header(url: str, params: list[tuple[str, str]], rels: list[tuple[str, str, str]]) -> str:
    """RFC 5988 Link with the paging parameter LAST (pyconnectwise's regex needs ``page=N>``)."""
    base = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
    parts = []
    for rel, name, value in rels:
        query = f"{base}&{name}={value}" if base else f"{name}={value}"
        parts.append(f'<{url}?{query}>; rel="{rel}"')
    return ", ".join(parts)


def carried_params(request: SandboxRequest, drop: tuple[str, ...]) -> list[tuple[str, str]]:
    """The request's query parameters minus the paging ones, pageSize first."""
    out: list[tuple[str, str]] = []
    for key, values in request.query.items():
        if key.lower() in drop:
            continue
        out.extend((key, v) for v in values)
    out.sort(key=lambda kv: kv[0].lower() != "pagesize")
    return out
