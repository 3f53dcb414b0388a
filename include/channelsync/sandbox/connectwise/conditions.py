"""The ConnectWise ``conditions`` language: a tokenizer, a recursive-descent parser and an evaluator.

Grammar (docs/vendors/connectwise.md §B.3; keywords case-insensitive, ``and`` binds tighter than ``or`` as in the SQL
the real server translates to)::

    expr       := and_expr ( OR and_expr )*
    and_expr   := unary ( AND unary )*
    unary      := NOT unary | '(' expr ')' | comparison
    comparison := PATH op value
                | PATH [NOT] (LIKE | CONTAINS) STRING
                | PATH [NOT] IN '(' value (',' value)* ')'
    op         := '=' | '!=' | '<' | '<=' | '>' | '>='
    value      := STRING | NUMBER | DATETIME | TRUE | FALSE | NULL

Strings are in double quotes (single quotes tolerated, as in the docs' /search example). Inside a
string a backslash escapes the next character (``\\"`` and ``\\\\``). ASSUMPTION: the public docs
do not say how a quote inside a value is written; backslash escaping is what ConnectWise's own .NET
parser accepts in practice and is what ``channelsync.clients.connectwise.conditions`` emits.
Datetimes are in square brackets, ISO ``[2016-08-20T18:04:26Z]`` or pyconnectwise's
``[2024-01-01 00:00:00]``. String comparisons are case-insensitive (SQL Server's default collation).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class ConditionError(ValueError):
    """The conditions string is malformed; the message says where."""


KEYWORDS = {"and", "or", "not", "like", "contains", "in", "true", "false", "null"}
COMPARATORS = ("<=", ">=", "!=", "=", "<", ">")


@dataclass(frozen=True)
class Token:
    kind: str  # path | string | number | datetime | keyword | op | lparen | rparen | comma | end
    value: Any
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "\"'":
            value, i2 = _read_string(text, i)
            tokens.append(Token("string", value, i))
            i = i2
        elif ch == "[":
            end = text.find("]", i)
            if end < 0:
                raise ConditionError(f"unterminated datetime starting at position {i}")
            tokens.append(Token("datetime", parse_datetime(text[i + 1:end], i), i))
            i = end + 1
        elif ch == "(":
            tokens.append(Token("lparen", ch, i))
            i += 1
        elif ch == ")":
            tokens.append(Token("rparen", ch, i))
            i += 1
        elif ch == ",":
            tokens.append(Token("comma", ch, i))
            i += 1
        elif ch in "<>=!":
            op = next((c for c in COMPARATORS if text.startswith(c, i)), None)
            if op is None:
                raise ConditionError(f"unexpected character {ch!r} at position {i}")
            tokens.append(Token("op", op, i))
            i += len(op)
        elif ch.isdigit() or (ch in "-+." and i + 1 < n and text[i + 1].isdigit()):
            match = _NUMBER.match(text, i)
            assert match is not None
            raw = match.group(0)
            tokens.append(Token("number", float(raw) if any(c in raw for c in ".eE") else int(raw), i))
            i = match.end()
        elif ch.isalpha() or ch == "_":
            match = _PATH.match(text, i)
            assert match is not None
            word = match.group(0)
            if word.lower() in KEYWORDS:
                tokens.append(Token("keyword", word.lower(), i))
            else:
                tokens.append(Token("path", word.strip("/"), i))
            i = match.end()
        else:
            raise ConditionError(f"unexpected character {ch!r} at position {i}")
    tokens.append(Token("end", None, n))
    return tokens


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*")


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif ch == quote:
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise ConditionError(f"unterminated string starting at position {start}")


def parse_datetime(raw: str, pos: int = 0) -> datetime:
    text = raw.strip().replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConditionError(f"invalid datetime [{raw}] at position {pos}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- syntax tree -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    path: str
    op: str  # = != < <= > >= like contains in
    value: Any  # a literal, or a tuple of literals for ``in``
    negated: bool = False


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    operands: tuple[Node, ...]


Node = Comparison | Not | BoolOp


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_keyword(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "keyword" and token.value == word

    def expect(self, kind: str, what: str) -> Token:
        token = self.take()
        if token.kind != kind:
            raise ConditionError(f"expected {what} at position {token.pos}, found {_describe(token)}")
        return token

    def parse(self) -> Node:
        node = self.expr()
        token = self.peek()
        if token.kind != "end":
            raise ConditionError(f"unexpected {_describe(token)} at position {token.pos}")
        return node

    def expr(self) -> Node:
        operands = [self.and_expr()]
        while self.is_keyword("or"):
            self.take()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.unary()]
        while self.is_keyword("and"):
            self.take()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def unary(self) -> Node:
        if self.is_keyword("not"):
            self.take()
            return Not(self.unary())
        if self.peek().kind == "lparen":
            self.take()
            node = self.expr()
            self.expect("rparen", "')'")
            return node
        return self.comparison()

    def comparison(self) -> Node:
        path = self.expect("path", "a field name").value
        negated = False
        if self.is_keyword("not"):
            self.take()
            negated = True
        token = self.take()
        if token.kind == "op" and not negated:
            return Comparison(path, token.value, self.literal())
        if token.kind == "keyword" and token.value in ("like", "contains"):
            value = self.literal()
            if not isinstance(value, str):
                raise ConditionError(f"{token.value} needs a quoted string at position {token.pos}")
            return Comparison(path, token.value, value, negated)
        if token.kind == "keyword" and token.value == "in":
            self.expect("lparen", "'(' after in")
            values = [self.literal()]
            while self.peek().kind == "comma":
                self.take()
                values.append(self.literal())
            self.expect("rparen", "')' closing the in list")
            return Comparison(path, "in", tuple(values), negated)
        raise ConditionError(f"expected an operator after {path} at position {token.pos}, found {_describe(token)}")

    def literal(self) -> Any:
        token = self.take()
        if token.kind in ("string", "number", "datetime"):
            return token.value
        if token.kind == "keyword" and token.value in ("true", "false"):
            return token.value == "true"
        if token.kind == "keyword" and token.value == "null":
            return None
        raise ConditionError(f"expected a value at position {token.pos}, found {_describe(token)}")


def _describe(token: Token) -> str:
    return "end of conditions" if token.kind == "end" else repr(str(token.value))


def parse(text: str) -> Node:
    """Parse a conditions string into a tree; raises :class:`ConditionError`."""
    return _Parser(text).parse()


def paths(node: Node) -> list[str]:
    """Every field path the tree mentions (to validate them against the model)."""
    if isinstance(node, Comparison):
        return [node.path]
    if isinstance(node, Not):
        return paths(node.operand)
    return [p for child in node.operands for p in paths(child)]


# --- evaluation ------------------------------------------------------------------------------------

Resolver = Callable[[str], Any]


def resolve_path(record: dict[str, Any], path: str) -> Any:
    """``company/id`` → record["company"]["id"]; a missing step is null."""
    value: Any = record
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def evaluate(node: Node, resolve: Resolver) -> bool:
    if isinstance(node, BoolOp):
        if node.op == "and":
            return all(evaluate(child, resolve) for child in node.operands)
        return any(evaluate(child, resolve) for child in node.operands)
    if isinstance(node, Not):
        return not evaluate(node.operand, resolve)
    result = _compare(resolve(node.path), node.op, node.value)
    return not result if node.negated else result


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op == "in":
        return any(_compare(actual, "=", item) for item in expected)
    if expected is None:
        if op == "=":
            return actual is None
        if op == "!=":
            return actual is not None
        return False
    if actual is None or isinstance(actual, dict | list):
        return op == "!=" and actual is None
    if op == "contains":
        return str(expected).casefold() in str(actual).casefold()
    if op == "like":
        return _like_regex(str(expected)).fullmatch(str(actual)) is not None
    left, right = _coerce(actual, expected)
    if left is None:
        return op == "!="
    try:
        if op == "=":
            return bool(left == right)
        if op == "!=":
            return bool(left != right)
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
        if op == ">":
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        return False


def _coerce(actual: Any, expected: Any) -> tuple[Any, Any]:
    """Bring the stored value and the literal to one comparable type (None when impossible)."""
    if isinstance(expected, bool):
        return (actual, expected) if isinstance(actual, bool) else (None, None)
    if isinstance(expected, datetime):
        if isinstance(actual, str):
            try:
                return parse_datetime(actual), expected
            except ConditionError:
                return None, None
        return None, None
    if isinstance(expected, int | float):
        if isinstance(actual, int | float) and not isinstance(actual, bool):
            return actual, expected
        try:
            return float(str(actual)), float(expected)
        except ValueError:
            return None, None
    return str(actual).casefold(), str(expected).casefold()


_LIKE_CACHE: dict[str, re.Pattern[str]] = {}


def _like_regex(pattern: str) -> re.Pattern[str]:
    """SQL Server LIKE: ``%`` and ``*`` any run, ``_`` one character, ``[...]`` a set (``[[]`` = ``[``)."""
    cached = _LIKE_CACHE.get(pattern)
    if cached is not None:
        return cached
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch in "%*":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + re.escape(body).replace(r"\-", "-") + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    compiled = re.compile("".join(out), re.IGNORECASE | re.DOTALL)
    if len(_LIKE_CACHE) < 1000:
        _LIKE_CACHE[pattern] = compiled
    return compiled
