"""Calendar days from what databases, PSAs and staged frames hand back — the one parser of them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def calendar_day(value: Any) -> date | None:
    """A date from a date, a date-time, or text starting ``YYYY-MM-DD`` (an ISO day or date-time, as SQLite's
    ``date()`` and the PSAs' ``2025-01-01T00:00:00Z`` give); None for None."""
    if value is None:
        return None
    if isinstance(value, datetime):  # before date: a datetime is a date too
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
