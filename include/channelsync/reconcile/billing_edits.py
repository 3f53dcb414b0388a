"""Hand edits of synced contract services: what a person changed since channelsync last posted (pure).

After each load channelsync remembers, per contract service, the stretches it left (units and price per
day range). Before the next plan, the PSA's units on those days are compared with them: a difference is a
person's edit. The invoice still wins — as users expect and PRISM Connect documents — so the plan
overwrites it, but the item says what was overwritten, before → after, instead of doing it silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from channelsync.reconcile.billing_timeline import Segment

TOLERANCE = 0.005


@dataclass(frozen=True)
class Edit:
    day: date
    field: str  # units | unit_price
    left: float | None  # what channelsync posted
    found: float | None  # what the PSA holds now


def to_json(segments: Iterable[Segment]) -> str:
    return json.dumps([[s.start.isoformat(), s.end.isoformat(), s.units, s.unit_price] for s in segments])


def from_json(text: str) -> list[Segment]:
    return [Segment(date.fromisoformat(a), date.fromisoformat(b), float(u), p, None) for a, b, u, p in json.loads(text)]


def level(rows: Iterable[Mapping[str, Any]], day: date) -> tuple[float, float | None]:
    """Units (summed: ConnectWise may carry one day on several additions) and price the PSA holds on ``day``."""
    units, price = 0.0, None
    for row in rows:
        start = _day(row["start"])
        end = _day(row["end"]) if row.get("end") else None
        if start <= day and (end is None or day <= end):
            units += float(row["units"] or 0)
            if row.get("unit_price") is not None and row["unit_price"] == row["unit_price"]:
                price = float(row["unit_price"])
    return units, price


def edits(left: list[Segment], rows: Sequence[Mapping[str, Any]]) -> list[Edit]:
    """Where the PSA's ``rows`` (CONTRACT_UNITS of one contract service) differ from what channelsync left."""
    if not left:
        return []
    days = {s.start for s in left} | {_day(r["start"]) for r in rows
                                      if left[0].start <= _day(r["start"]) <= left[-1].end}
    found: list[Edit] = []
    for day in sorted(days):
        wanted = next((s for s in left if s.start <= day <= s.end), None)
        if wanted is None:
            continue
        units, price = level(rows, day)
        if abs(units - wanted.units) > TOLERANCE:
            found.append(Edit(day, "units", wanted.units, units))
        if wanted.units and wanted.unit_price is not None and price is not None \
                and abs(price - wanted.unit_price) > TOLERANCE:
            found.append(Edit(day, "unit_price", wanted.unit_price, price))
    return found


def describe(changes: list[Edit]) -> str:
    """Before → after, in the words of the item: what channelsync had posted, what a person set."""
    shown = "; ".join(f"{e.field} from {e.day}: posted {_text(e.left)}, set by hand to {_text(e.found)}"
                      for e in changes[:5])
    more = f" (+{len(changes) - 5} more)" if len(changes) > 5 else ""
    return f"{shown}{more}; the invoice wins: set back to the invoice's values"


def _text(value: float | None) -> str:
    return "nothing" if value is None else f"{value:g}"


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
