"""Unit tests of the conditions tokenizer / parser / evaluator (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channelsync.sandbox.connectwise.conditions import (
    BoolOp,
    Comparison,
    ConditionError,
    Not,
    evaluate,
    parse,
    resolve_path,
    tokenize,
)

RECORD = {
    "id": 7, "identifier": 'AB"C\\D', "description": "HP EliteBook 840", "price": 1200.5, "cost": 999,
    "inactiveFlag": False, "notes": None, "dateEntered": "2024-03-05T15:00:00Z",
    "manufacturer": {"id": 3, "name": "HP Inc."}, "vendorSku": "50_00%1",
}


def matches(text: str, record: dict = RECORD) -> bool:
    return evaluate(parse(text), lambda path: resolve_path(record, path))


@pytest.mark.parametrize(("text", "expected"), [
    ("id = 7", True), ("id != 7", False), ("id < 8", True), ("id <= 7", True), ("id > 7", False),
    ("id >= 7", True), ("price > 1200.25", True), ("price = -1", False), ("cost = 999", True),
    ('description = "hp elitebook 840"', True),  # case-insensitive like SQL Server
    ('description != "x"', True), ('description < "I"', True),
    ('description like "HP%"', True), ('description like "HP*840"', True), ('description like "%Book"', False),
    ('description like "HP_EliteBook%"', True), ('description not like "HP%"', False),
    ('description contains "elite"', True), ('description not contains "elite"', False),
    ('description contains "%"', False),  # contains has no wildcards
    ("id in (1, 7, 9)", True), ("id not in (1, 7)", False), ('manufacturer/name in ("Dell", "HP Inc.")', True),
    ("inactiveFlag = False", True), ("inactiveFlag = true", False), ("inactiveFlag != True", True),
    ("notes = null", True), ("notes != null", False), ("description = null", False), ("missing/deep = null", True),
    ("dateEntered > [2024-03-01T00:00:00Z]", True), ("dateEntered < [2024-03-01 00:00:00]", False),
    ("dateEntered = [2024-03-05T15:00:00Z]", True),
    ("manufacturer/id = 3", True), ("manufacturer/name like \"hp%\"", True),
    ('identifier = "AB\\"C\\\\D"', True),  # escaped quote and backslash
    ("identifier = 'AB\\\"C\\\\D'", True),  # single-quoted strings tolerated
    ('vendorSku like "50[_]00[%]1"', True), ('vendorSku like "50_00_1"', True),
    ("not id = 7", False), ("not (id = 7 or id = 8)", False),
    ("ID = 7 AND Inactiveflag = false", False),  # field names are case-sensitive, keywords are not
    ("id = 7 AND inactiveFlag = FALSE", True),
])
def test_operators(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_and_binds_tighter_than_or() -> None:
    tree = parse("id = 1 or id = 7 and price < 0")
    assert isinstance(tree, BoolOp) and tree.op == "or"
    assert isinstance(tree.operands[1], BoolOp) and tree.operands[1].op == "and"
    assert matches("id = 1 or id = 7 and price < 0") is False
    assert matches("(id = 1 or id = 7) and price > 0") is True
    assert matches("id = 7 or id = 1 and price < 0") is True


def test_parse_tree_shapes() -> None:
    assert parse('a/b/c not in ("x", 2, null, True)') == Comparison("a/b/c", "in", ("x", 2, None, True), negated=True)
    assert parse("not (x = 1)") == Not(Comparison("x", "=", 1))
    dt = parse("d >= [2024-01-02T03:04:05Z]")
    assert isinstance(dt, Comparison) and dt.value == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_quote_inside_a_string_cannot_inject_a_clause() -> None:
    # The builder's output for the SKU  X" or id > 0 or identifier = "  stays a single literal.
    tree = parse('identifier = "X\\" or id > 0 or identifier = \\""')
    assert tree == Comparison("identifier", "=", 'X" or id > 0 or identifier = "')


def test_tokenizer_positions() -> None:
    kinds = [t.kind for t in tokenize('a = "x" and (b in (1,2))')]
    assert kinds == ["path", "op", "string", "keyword", "lparen", "path", "keyword", "lparen", "number", "comma",
                     "number", "rparen", "rparen", "end"]


@pytest.mark.parametrize("text", [
    'identifier = "unterminated', "id =", "id 5", "= 5", "(id = 1", "id = 1)", "id in ()", "id in 1",
    "price > [not a date]", 'id like 5', "id = 1 and", "id = 1 xor id = 2", "id === 1", "id = #",
    "[2024-01-01", "not",
])
def test_malformed_conditions_raise(text: str) -> None:
    with pytest.raises(ConditionError):
        parse(text)
