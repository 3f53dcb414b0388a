"""What submit_orders and order_status need from a PSA's purchase orders, whichever PSA it is.

An adapter reads the POs addressed to the distributor in given statuses as canonical
:class:`~channelsync.canonical.orders.PsaOrder` objects and applies ``update`` operations to them
(the loader's executor). An update carries absolute values under canonical names:

    {"order": {"status": "Submitted", "order_number": "16351210", "note": "...", "_memo": "<memo as read>"},
     "lines": [{"psa_id": "12", "changes": {"eta": "2026-12-20", "note": "..."}, "_memo": "<memo as read>"}]}

``note`` is channelsync's block of the memo / notes field; ``_memo`` the whole field as read, so the
adapter keeps a person's own text when it writes the block (no read before the write). An adapter
writes only the fields its PSA can store (``ORDER_FIELDS``, ``LINE_FIELDS``), and says how long they
are (``ORDER_LIMITS``, ``LINE_LIMITS``: a list is cut to whole items, a note block as
:func:`~channelsync.canonical.orders.with_note_block` cuts it); the planners compare only those, as the
PSA will hold them, so an unchanged order costs no write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

from channelsync.canonical.orders import PsaOrder

# (the PSA's PO number, its status label) → leave the PO out: decided from the PO itself, before its
# lines are read (order_status leaves complete POs alone without reading their lines).
Skip = Callable[[str, "str | None"], bool]


class PsaOrderAdapter(Protocol):
    psa_system: str
    entity_type: str
    records_xref: bool  # see runs/loader.OperationExecutor
    ORDER_FIELDS: ClassVar[tuple[str, ...]]
    LINE_FIELDS: ClassVar[tuple[str, ...]]
    ORDER_LIMITS: ClassVar[Mapping[str, int]]
    LINE_LIMITS: ClassVar[Mapping[str, int]]

    def read_orders(self, *, statuses: Sequence[str], with_skus: bool = True,
                    skip: Skip | None = None) -> list[PsaOrder]: ...

    def execute(self, operation: Any) -> str: ...

    def resolve_unknown(self, operation: Any) -> str | None: ...


def status_value(statuses: Mapping[str, int], label: str) -> int | None:
    """The PSA's value of a status label, matched without regard to case (None: the PSA has no such status)."""
    wanted = label.casefold()
    return next((value for known, value in statuses.items() if known.casefold() == wanted), None)


def day_stamp(value: Any) -> str | None:
    """A canonical day (``YYYY-MM-DD``) as the PSAs' date-time fields take it; None clears the field."""
    return f"{value}T00:00:00Z" if value else None


def order_adapter(psa_system: str, client: Any, *, vendor: str, default_country: str = "US") -> PsaOrderAdapter:
    """``vendor``: the distributor's company in the PSA (Autotask company name; ConnectWise company
    identifier or name); ``default_country``: the ship-to country when the PSA's PO carries none."""
    if psa_system == "autotask":
        from channelsync.adapters.autotask_orders import AutotaskOrders

        return AutotaskOrders(client, vendor=vendor, default_country=default_country)
    if psa_system == "connectwise":
        from channelsync.adapters.connectwise_orders import ConnectWiseOrders

        return ConnectWiseOrders(client, vendor=vendor, default_country=default_country)
    raise ValueError(f"no purchase-order adapter for PSA {psa_system!r}")
