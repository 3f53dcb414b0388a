"""The one parser of calendar days (canonical/dates.py) across what the stores and the PSAs return."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from channelsync.canonical.dates import calendar_day


@pytest.mark.parametrize(("value", "expected"), [
    (None, None),
    (date(2026, 3, 1), date(2026, 3, 1)),
    (datetime(2026, 3, 1, 23, 59, tzinfo=UTC), date(2026, 3, 1)),  # a datetime is not kept as one
    ("2026-03-01", date(2026, 3, 1)),  # SQLite's date()
    ("2026-03-01T00:00:00Z", date(2026, 3, 1)),  # a PSA date-time
])
def test_calendar_day(value: object, expected: date | None) -> None:
    got = calendar_day(value)
    assert got == expected and type(got) is type(expected)


def test_text_that_is_no_day_is_refused() -> None:
    with pytest.raises(ValueError):
        calendar_day("03/01/2026")
