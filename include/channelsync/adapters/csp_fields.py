"""Reading one CSP vendor record field by field (the Crayon and Pax8 billing adapters).

:class:`Reader` applies the clients' field checks (``channelsync.clients.payload``: the same rules the
clients' own record checks use) and collects every problem instead of raising, so an unreadable record
still becomes a row, with ``parse_error`` saying why, and is never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from channelsync.canonical.billing import INVOICE_LINE
from channelsync.clients import payload

Check = Callable[[Any], str | None]
RATIO_STEP = Decimal("0.000001")
PARSE_ERROR_MAX = 500


class Reader:
    """One record: typed values by path, ``None`` for a value that is missing or unreadable (with the
    problem kept when the field is required or present but wrong)."""

    def __init__(self, record: Any) -> None:
        self.record: dict[str, Any] = record if isinstance(record, dict) else {}
        self.problems: list[str] = [] if isinstance(record, dict) else [
            f"record is {type(record).__name__}, expected an object"]

    def raw(self, *path: str) -> Any:
        value: Any = self.record
        for key in path:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    def _read(self, path: tuple[str, ...], check: Check, required: bool) -> Any:
        value = self.raw(*path)
        if value is None and not required:
            return None
        problem = check(value)
        if problem is not None:
            self.problems.append(f"{'.'.join(path)} {problem}")
            return None
        return value

    def text(self, *path: str, required: bool = True) -> str | None:
        value = self._read(path, payload.text, required)
        return value.strip() if isinstance(value, str) and value.strip() else None

    def currency(self, *path: str, required: bool = True) -> str | None:
        value = self._read(path, payload.currency, required)
        return value.strip().upper() if isinstance(value, str) else None

    def ident(self, *path: str, required: bool = True) -> str | None:
        value = self._read(path, payload.ident, required)
        return None if value is None else str(payload.whole_number(value) if not isinstance(value, str) else value)

    def number(self, *path: str, check: Check = payload.money, required: bool = True) -> Decimal | None:
        value = self._read(path, check, required)
        return None if value is None else Decimal(str(value))

    def day(self, *path: str, required: bool = True) -> date | None:
        value = self._read(path, payload.iso_date, required)
        return None if value is None else date.fromisoformat(value.strip()[:10])

    def period(self, start: date | None, end: date | None, names: tuple[str, str]) -> None:
        if start is not None and end is not None and start > end:
            self.problems.append(f"{names[0]} is after {names[1]}")

    @property
    def error(self) -> str | None:
        text = "; ".join(self.problems)
        return text[:PARSE_ERROR_MAX] if text else None


def ratio6(value: Decimal) -> Decimal:
    return value.quantize(RATIO_STEP, rounding=ROUND_HALF_UP)


def as_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def source_key(distributor: str, account: str, invoice_id: str, line_id: str) -> str:
    return f"{distributor}:{account}:{invoice_id}:{line_id}"


def line_record(read: Reader, *, distributor: str, account: str, invoice_id: str, line_id: str,
                start: date | None, end: date | None, **columns: Any) -> dict[str, Any]:
    """One ``INVOICE_LINE`` row: the columns every adapter fills the same way (keys, ISO charge dates, the
    parse error), plus the vendor's own ``columns``. Both adapters build their rows here, so a column
    one of them forgets or invents fails at once instead of reaching the suite as a missing value."""
    row: dict[str, Any] = {
        "source_key": source_key(distributor, account, invoice_id, line_id),
        "distributor": distributor, "account": account, "invoice_id": invoice_id, "line_id": line_id,
        "charge_start": start.isoformat() if start else None,
        "charge_end": end.isoformat() if end else None,
        **columns,
        "parse_error": read.error,
    }
    if row.keys() != INVOICE_LINE.keys():
        raise ValueError(f"invoice line columns differ from INVOICE_LINE: {sorted(row.keys() ^ INVOICE_LINE.keys())}")
    return row
