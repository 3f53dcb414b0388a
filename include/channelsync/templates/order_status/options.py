"""Options of order_status (pydantic only: read at DAG parse time)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from channelsync.templates.options_common import TemplateOptions

State = Literal["accepted", "backordered", "partially_shipped", "shipped", "cancelled"]
# The PSA status each TD SYNNEX state sets. Autotask's statuses are fixed and none means "shipped" (its
# Received Partial / Full follow receiving, which stays with people): a shipped PO stays Submitted, its
# shipments are in the memos. ConnectWise's are the tenant's own (create "Partially Shipped", "Shipped").
PSA_STATUS_MAP: dict[str, dict[str, str]] = {
    "autotask": {"accepted": "Submitted", "backordered": "Submitted", "partially_shipped": "Submitted",
                 "shipped": "Submitted", "cancelled": "Cancelled"},
    "connectwise": {"accepted": "Submitted", "backordered": "Submitted", "partially_shipped": "Partially Shipped",
                    "shipped": "Shipped", "cancelled": "Cancelled"},
}
# The PSA statuses whose POs are polled (they must carry a distributor order number).
# Shipped POs stay polled until TD SYNNEX has invoiced every shipped unit (then they are complete and
# left alone).
PSA_POLL_STATUSES: dict[str, list[str]] = {
    "autotask": ["Submitted"],
    "connectwise": ["Submitted", "Partially Shipped", "Shipped"],
}


class OrderStatusOptions(TemplateOptions):
    vendor: str = Field(default="TD SYNNEX", min_length=1)
    # None: submit_orders' po_number_prefix (both must name TD SYNNEX's customer PO number the same way).
    po_number_prefix: str | None = Field(default=None, max_length=10, pattern=r"^[A-Za-z0-9-]*$")
    poll_statuses: list[str] | None = None  # None: the PSA's default above
    status_map: dict[State, str] = Field(default_factory=dict)  # overrides of the PSA's default map
    # PO status answers one PO per request: this many POs in flight.
    status_concurrency: int = Field(default=4, ge=1, le=16)
    # Ask TD SYNNEX's invoice query service for the invoices of POs with shipped lines (one more request
    # per such PO and poll) and write the invoice numbers back; a PO is complete once every shipped unit
    # is invoiced. False: invoices are not followed, a PO shipped in full is complete.
    invoices: bool = True
