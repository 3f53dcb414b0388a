"""Purchase orders → TD SYNNEX XML PO submission, and TD SYNNEX PO status → plain data.

:class:`TdSynnexOrders` is the loader's executor for submit_orders' ``create`` operations (one per
PO, tenant-scoped in the ledger under the TD SYNNEX account + customer PO number):

- ``execute`` sends the PO (XML PO submission) without asking PO status first: a PO reaches the
  executor only when its ledger claim is new or a definite earlier failure; an *uncertain* claim
  (an earlier attempt may have sent it) is resolved by the loader with ``resolve_unknown`` first, and a
  lost answer inside the client is followed by a PO status query (``TdSynnexXmlClient.submit_po``);
- TD SYNNEX refuses a customer PO number it already has (``DUPREJECT``): then the PO was submitted
  before (outside channelsync, or by an attempt whose ledger row was lost) and the order PO status
  shows is the one it made — linked, never a second order;
- a PO TD SYNNEX rejects raises ``TDS_PO_REJECTED`` with every line's reason (nothing was ordered);
- the id the ledger records is the distributor's sales order number(s), comma separated.

What the submission answered (line order types: SO, BO back order, 99 manual handling) is kept per PO
in :attr:`TdSynnexOrders.results` for the write-back to the PSA.

For order_status, :meth:`TdSynnexOrders.follow` reads PO status and, for a PO with shipped lines, its
invoices (the invoice query service, on a host of its own), a PO at a time on ``concurrency`` workers. A
PO whose invoices cannot be read carries the error instead (:class:`Followed`): that PO waits for the
next poll, the others go on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from channelsync.canonical.orders import distinct
from channelsync.clients.call_tally import ContextThreadPool
from channelsync.clients.tdsynnex.codes import TDS_PO_DUPLICATE, TDS_PO_REJECTED
from channelsync.clients.tdsynnex.xmlmodels import (
    Invoice,
    PoLine,
    PoLineResult,
    PoStatus,
    PoSubmission,
    PurchaseOrder,
    ShipTo,
)
from channelsync.errors import ChannelsyncError, FatalApiError

if TYPE_CHECKING:
    from channelsync.clients.tdsynnex.xml import TdSynnexXmlClient
    from channelsync.runs.loader import Operation

SYSTEM = "tdsynnex"


def purchase_order(fields: dict[str, Any]) -> PurchaseOrder:
    """The XML client's PurchaseOrder from a submit operation's fields (see submit_orders' planning)."""
    ship_to = fields["ship_to"]
    return PurchaseOrder(
        po_number=str(fields["po_number"]),
        ship_to=ShipTo(name=ship_to.get("name") or "", address1=ship_to.get("address1") or "",
                       address2=ship_to.get("address2") or "", city=ship_to.get("city") or "",
                       state=ship_to.get("state") or "", zip_code=ship_to.get("zip_code") or "",
                       country=ship_to.get("country") or "US", contact_name=ship_to.get("contact_name") or "",
                       phone=ship_to.get("phone") or "", email=ship_to.get("email") or ""),
        lines=tuple(PoLine(line_number=int(line["line_number"]), sku=str(line["sku"]),
                           quantity=int(line["quantity"]), unit_price=Decimal(str(line["unit_price"])),
                           product_name=str(line.get("product_name") or ""))
                    for line in fields["lines"]),
        ship_method=str(fields.get("ship_method") or "FG"),
        drop_ship=bool(fields.get("drop_ship", True)),
        backorder_allowed=bool(fields.get("backorder_allowed", True)),
    )


@dataclass(frozen=True)
class Followed:
    """One PO as order_status reads it: its status, its invoices, or why they could not be read."""

    status: PoStatus
    invoices: tuple[Invoice, ...] = ()
    invoice_error: str | None = None


def order_numbers(lines: Iterable[Any]) -> str:
    """Distinct sales order numbers of a submission's or status's lines, in order, comma separated."""
    return distinct(getattr(line, "order_number", "") for line in lines) or ""


class TdSynnexOrders:
    psa_system = SYSTEM  # the loader's name for the target system
    entity_type = "tdsynnex_order"  # cross-reference: customer PO number → sales order number(s)
    records_xref = True  # customer PO number ↔ sales order number(s)

    def __init__(self, client: TdSynnexXmlClient) -> None:
        self.client = client
        self.results: dict[str, PoSubmission] = {}
        self._lock = threading.Lock()

    # ---- the loader's executor ------------------------------------------------------------------
    def execute(self, operation: Operation) -> str:
        order = purchase_order(operation.fields)
        try:
            submission = self.client.submit_po(order, check_existing=False)
        except FatalApiError as exc:
            if exc.code == TDS_PO_DUPLICATE:
                return self._existing(operation, self.client.po_status(order.po_number))
            if exc.code == TDS_PO_REJECTED:
                raise _rejected(order.po_number, getattr(exc, "submission", None), exc) from exc
            raise
        return self._keep(operation, submission)

    def resolve_unknown(self, operation: Operation) -> str | None:
        """The order TD SYNNEX holds for this customer PO number, or None (not there, or rejected: then
        sending it again gets the rejection answered again, never an order)."""
        status = self.client.po_status(str(operation.fields["po_number"]))
        if not status.exists or status.code == "rejected":
            return None
        return self._keep(operation, _as_submission(status))

    # ---- reading statuses (order_status) ----------------------------------------------------------
    def statuses(self, po_numbers: Iterable[str], *, concurrency: int = 4) -> dict[str, PoStatus]:
        """PO status of each customer PO number (the XML service answers one PO per request)."""
        return {number: followed.status for number, followed in
                self.follow(po_numbers, concurrency=concurrency, invoices=False).items()}

    def follow(self, po_numbers: Iterable[str], *, concurrency: int = 4, invoices: bool = True
               ) -> dict[str, Followed]:
        """PO status of each customer PO number and, with ``invoices``, the invoices of those TD SYNNEX
        shipped something of (an unshipped order has none to ask for). A PO status that cannot be read
        fails the whole read (as before invoices); invoices that cannot be read fail only their PO."""
        numbers = list(dict.fromkeys(po_numbers))

        def one(number: str) -> Followed:
            status = self.client.po_status(number)
            if not invoices or not any(item.code == "shipped" for item in status.items):
                return Followed(status)
            try:
                return Followed(status, self.client.invoices(number))
            except ChannelsyncError as exc:
                return Followed(status, invoice_error=f"[{exc.code}] {exc}"[:500])

        if not numbers:
            return {}
        with ContextThreadPool(max_workers=max(1, min(concurrency, len(numbers))),
                                thread_name_prefix="tds-status") as pool:
            return dict(zip(numbers, pool.map(one, numbers), strict=True))

    # ---- helpers ----------------------------------------------------------------------------------
    def _existing(self, operation: Operation, status: PoStatus) -> str:
        if status.code == "rejected" or not status.exists:
            raise FatalApiError(
                f"TD SYNNEX already holds PO {status.po_number or operation.source_key} and rejected it"
                f"{': ' + status.reason if status.reason else ''}; it is not sent again under this number",
                code=TDS_PO_REJECTED, system=SYSTEM, vendor_message=status.reason)
        return self._keep(operation, _as_submission(status))

    def _keep(self, operation: Operation, submission: PoSubmission) -> str:
        with self._lock:
            self.results[operation.source_key] = submission
        return order_numbers(submission.lines) or f"po:{submission.po_number}"


def _as_submission(status: PoStatus) -> PoSubmission:
    return PoSubmission(
        po_number=status.po_number, code=status.code, reason=status.reason, already_submitted=True,
        lines=tuple(PoLineResult(line_number=i.line_number, sku=i.sku, quantity=i.order_quantity, code=i.code,
                                 order_number=i.order_number, order_type=i.order_type) for i in status.items),
    )


def _rejected(po_number: str, submission: PoSubmission | None, cause: FatalApiError) -> FatalApiError:
    lines = submission.lines if submission else ()
    reasons = [f"line {line.line_number} ({line.sku}): {line.reason}" for line in lines if line.reason]
    head = submission.reason if submission and submission.reason else ""
    detail = "; ".join([r for r in [head, *reasons] if r]) or cause.message
    return FatalApiError(f"TD SYNNEX rejected PO {po_number}: {detail}", code=TDS_PO_REJECTED, system=SYSTEM,
                         vendor_message=detail)
