"""The canonical purchase order (docs/architecture.md §Canonical model): what the PSA order adapters
read (Autotask PurchaseOrders + PurchaseOrderItems, ConnectWise purchase orders + line items) and what
submit_orders and order_status plan from. Plain data, staged as JSON in one Parquet column per order
(an order has a variable number of lines).

``tracked`` holds the current PSA values of the fields order_status manages, under canonical names
(the adapter says which of them its PSA can store):

- order level: ``status`` (the PSA status label), ``order_number`` (the distributor's sales order
  number(s)), ``ship_date`` (YYYY-MM-DD), ``tracking`` (tracking numbers, comma separated),
  ``invoice_number`` (the distributor's invoice number(s), comma separated), ``invoice_date``
  (YYYY-MM-DD, the latest), ``note`` (channelsync's block in the PO's memo / notes, see :func:`note_block`);
- line level: ``order_number``, ``ship_date``, ``tracking``, ``serials``, ``eta`` (YYYY-MM-DD),
  ``backordered``, ``cancelled``, ``shipped_quantity``, ``note``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

# channelsync's part of a memo / notes field starts at this line; a person's own text before it is kept.
NOTE_MARK = "-- TD SYNNEX (channelsync) --"


@dataclass
class PsaLine:
    psa_id: str
    line_number: int
    product_id: str | None
    sku: str | None  # the TD SYNNEX SKU (None: the product carries none)
    description: str
    quantity: float
    unit_cost: float | None
    memo: str = ""  # the line's whole memo / notes field as read (the note block is merged into it)
    tracked: dict[str, Any] = field(default_factory=dict)


@dataclass
class PsaOrder:
    psa_id: str
    number: str  # the PSA's own PO number
    status: str | None  # status label
    since: str | None  # when it entered its current state, as far as the PSA tells (ISO)
    ship_to: dict[str, str]
    lines: list[PsaLine]
    memo: str = ""  # the PO's whole memo / notes field as read
    tracked: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> PsaOrder:
        data = json.loads(text)
        data["lines"] = [PsaLine(**line) for line in data.get("lines") or []]
        return cls(**data)


def note_block(text: str | None) -> str:
    """channelsync's block of a memo field ("" when there is none)."""
    if not text or NOTE_MARK not in text:
        return ""
    return text.split(NOTE_MARK, 1)[1].strip()


def with_note_block(text: str | None, block: str, *, limit: int | None = None) -> str:
    """``text`` with channelsync's block replaced by ``block`` (a person's own text before it is kept);
    the block is cut to fit ``limit`` characters."""
    own = (text or "").split(NOTE_MARK, 1)[0].rstrip()
    if not block:
        return own
    head = f"{own}\n\n{NOTE_MARK}\n" if own else f"{NOTE_MARK}\n"
    if limit is not None and len(head) + len(block) > limit:
        block = block[: max(0, limit - len(head) - 1)].rstrip() + "…"
    return head + block


def day(value: Any) -> str | None:
    """A date or date-time (ISO or TD SYNNEX ``CCYY-MM-DDTHH:MM:SS`` / ``YYYYMMDD``) as YYYY-MM-DD."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:8]}"
    return text[:10]


def distinct(values: Iterable[Any]) -> str | None:
    """The distinct non-empty values, stripped, in order, comma separated (None: none)."""
    seen: list[str] = []
    for value in values:
        text = str(value or "").strip()
        if text and text not in seen:
            seen.append(text)
    return ",".join(seen) or None


def fit_list(value: Any, limit: int | None) -> str | None:
    """A comma-separated list as a field of ``limit`` characters holds it: whole items only, the first
    ones (a first item longer than the field is cut). None stays None."""
    if value is None:
        return None
    text = str(value)
    if limit is None or len(text) <= limit:
        return text
    kept = ""
    for item in text.split(","):
        candidate = f"{kept},{item}" if kept else item
        if len(candidate) > limit:
            break
        kept = candidate
    return kept or text[:limit]


COMPLETE = ";complete"


def status_fingerprint(status: str | None, *, complete: bool = False) -> str:
    """What the cross-reference keeps of a PO channelsync wrote: the status it set, and whether nothing
    is left to follow (``complete``: shipped in full and invoiced). A PO whose status differs from it
    (and from what channelsync would set now) was changed by a person since."""
    return f"status:{(status or '').strip().casefold()}{COMPLETE if complete else ''}"


def fingerprint_status(fingerprint: str | None) -> str | None:
    """The status part of a fingerprint :func:`status_fingerprint` made (None stays None)."""
    return fingerprint.removesuffix(COMPLETE) if fingerprint is not None else None


def fingerprint_complete(fingerprint: str | None) -> bool:
    return bool(fingerprint) and str(fingerprint).endswith(COMPLETE)
