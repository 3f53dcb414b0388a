"""Reading values out of TD SYNNEX XML answers: text, quantities and amounts, strictly (a value that
is not what its element must hold is reported, never guessed)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation

# What the services write in numeric elements: plain decimals (no NaN / Infinity, no thousands separators,
# no exponent of more than 3 digits: ``int(Decimal("1e999999999"))`` alone would take minutes).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_WHOLE = re.compile(r"[+-]?[0-9]{1,18}(?:\.0*)?")


def text(element: ET.Element | None, path: str) -> str:
    found = element.find(path) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def shown(value: str) -> str:
    return repr(value if len(value) <= 40 else f"{value[:40]}...")


def whole(value: str, name: str, problems: list[str]) -> int | None:
    """A quantity element: empty is 0; anything but a whole number of at most 18 digits is a problem (None)."""
    if not value:
        return 0
    if _WHOLE.fullmatch(value):
        return int(Decimal(value))
    problems.append(f"{name} {shown(value)} is not a whole number")
    return None


def amount(value: str, name: str, problems: list[str]) -> Decimal | None:
    """A money element: empty is missing; anything but a plain decimal number is a problem (None)."""
    if not value:
        return None
    if _NUMBER.fullmatch(value):
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
            pass
    problems.append(f"{name} {shown(value)} is not a number")
    return None


def lenient_int(value: str) -> int:
    """Lenient (a PO submission's echo of the quantities sent): 0 for anything but a whole number."""
    return whole(value, "", []) or 0
