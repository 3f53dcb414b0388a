"""order_status, pure: TD SYNNEX PO status → what each open PSA purchase order should show, and the
update that gets it there (only what differs: an unchanged order costs no write).

TD SYNNEX's PO status (spec v2.42) lists one ``<Item>`` per line *part*: a split or partial shipment is
the same ``lineNumber`` more than once (a ``shipped`` part with its packages, an ``accepted`` remainder,
possibly back-ordered with an ETA); a line the sales rep killed is ``deleted``. Per PSA line (matched
by line number, the number submit_orders sent) this gives: the sales order number(s), quantity shipped
of ordered, every package (tracking number, quantity, serial numbers, ship date, carrier), back-order
and ETA, cancellation, the invoices that bill it (quantity per invoice number). Per order: the state
(``accepted``, ``backordered``, ``partially_shipped``, ``shipped``, ``cancelled``) → the PSA status of
the template's map, the order numbers, the latest ship date, the tracking numbers, the invoice numbers
and the latest invoice date (TD SYNNEX's invoice query service, not PO status), and a summary note.

Values are compared as the PSA stores them (an adapter's ``ORDER_LIMITS`` / ``LINE_LIMITS``: a list cut
to whole items, a note block cut as the adapter cuts it), so a value too long for its field does not
make every poll write it again.

A PO whose PSA status differs from the one channelsync last wrote (the cross-reference) and from the
one it would write now was changed by a person: a *conflict*, nothing written. A PO shipped in full and
invoiced in full is *complete* (its fingerprint says so): the next extract does not ask TD SYNNEX again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from channelsync.canonical.orders import (
    PsaOrder,
    day,
    distinct,
    fingerprint_status,
    fit_list,
    note_block,
    status_fingerprint,
    with_note_block,
)
from channelsync.clients.tdsynnex.xmlmodels import Invoice, InvoiceLine, Package, PoStatus, PoStatusItem

STATE_TEXT = {"accepted": "accepted", "backordered": "back-ordered", "partially_shipped": "partially shipped",
              "shipped": "shipped", "cancelled": "cancelled by TD SYNNEX"}


# ---- PO status as staged JSON -------------------------------------------------------------------
def status_to_json(status: PoStatus) -> str:
    return json.dumps(asdict(status), default=str, sort_keys=True)


def status_from_json(text: str) -> PoStatus:
    data = json.loads(text)
    items = tuple(
        PoStatusItem(**{**item, "unit_price": Decimal(item["unit_price"]) if item.get("unit_price") else None,
                        "packages": tuple(Package(**{**p, "serials": tuple(p.get("serials") or ())})
                                          for p in item.get("packages") or ())})
        for item in data.get("items") or ())
    return PoStatus(**{**data, "items": items})


def invoices_to_json(invoices: Sequence[Invoice]) -> str:
    return json.dumps([asdict(invoice) for invoice in invoices], default=str, sort_keys=True)


def invoices_from_json(text: str | None) -> tuple[Invoice, ...]:
    def money(value: Any) -> Decimal | None:
        return Decimal(str(value)) if value not in (None, "") else None

    return tuple(
        Invoice(**{**data, "total": money(data.get("total")), "freight": money(data.get("freight")),
                   "sales_tax": money(data.get("sales_tax")),
                   "tracking_numbers": tuple(data.get("tracking_numbers") or ()),
                   "lines": tuple(InvoiceLine(**{**line, "unit_price": money(line.get("unit_price")),
                                                 "serials": tuple(line.get("serials") or ())})
                                  for line in data.get("lines") or ())})
        for data in json.loads(text or "[]"))


def invoiced_by_line(invoices: Sequence[Invoice]) -> dict[int, tuple[tuple[str, int], ...]]:
    """Line number → (invoice number, quantity) of every invoice line billing it, in invoice order."""
    out: dict[int, list[tuple[str, int]]] = {}
    for invoice in _in_order(invoices):
        for line in invoice.lines:
            try:
                out.setdefault(int(line.line_number), []).append((invoice.invoice_number, line.ship_quantity))
            except ValueError:
                continue
    return {number: tuple(parts) for number, parts in out.items()}


def _in_order(invoices: Sequence[Invoice]) -> list[Invoice]:
    return sorted(invoices, key=lambda i: (day(i.invoice_date) or "", i.invoice_number))


# ---- what TD SYNNEX says ----------------------------------------------------------------------------
def state_of(status: PoStatus) -> str | None:
    """The order's state, or None when there is nothing to follow (rejected, not found)."""
    if status.code == "deleted":
        return "cancelled"
    if status.code not in ("accepted", "shipped"):
        return None
    shipped = [i for i in status.items if i.code == "shipped"]
    still_open = [i for i in status.items if i.code == "accepted"]
    if shipped and not still_open:
        return "shipped"
    if shipped:
        return "partially_shipped"
    if any(i.order_type == "BO" for i in still_open):
        return "backordered"
    if status.items and all(i.code == "deleted" for i in status.items):
        return "cancelled"
    return "accepted"


@dataclass(frozen=True)
class LineState:
    order_number: str | None
    ordered: int
    shipped: int
    packages: tuple[tuple[str, int, tuple[str, ...], str | None, str], ...]  # tracking, qty, serials, date, carrier
    eta: str | None
    backordered: bool
    cancelled: bool
    open_quantity: int
    invoiced: tuple[tuple[str, int], ...] = ()  # (invoice number, quantity), in invoice order

    @property
    def invoiced_quantity(self) -> int:
        return sum(quantity for _number, quantity in self.invoiced)

    def tracked(self, sku: str | None, line_number: int) -> dict[str, Any]:
        tracking = distinct(p[0] for p in self.packages)
        serials = distinct(s for p in self.packages for s in p[2])
        dates = sorted(d for d in (p[3] for p in self.packages) if d)
        return {"order_number": self.order_number, "ship_date": dates[-1] if dates else None,
                "tracking": tracking, "serials": serials, "eta": self.eta if self.backordered else None,
                "backordered": self.backordered, "cancelled": self.cancelled,
                "shipped_quantity": self.shipped,
                # nothing to tell about a line still simply open (the order's note says it was accepted)
                "note": self.note(sku, line_number) if self.shipped or self.backordered or self.cancelled else ""}

    def note(self, sku: str | None, line_number: int) -> str:
        head = f"Line {line_number}{f' (SKU {sku})' if sku else ''}"
        if self.order_number:
            head += f", sales order {self.order_number.replace(',', ', ')}"
        if self.cancelled:
            return f"{head}: cancelled by TD SYNNEX."
        parts = [f"{head}: shipped {self.shipped} of {self.ordered}."]
        for tracking, quantity, serials, date, carrier in self.packages:
            serial_text = f"; serials {', '.join(serials)}" if serials else ""
            parts.append(f"- {date or 'date n/a'} {carrier or 'carrier n/a'} {tracking or 'no tracking'}: "
                         f"{quantity}{serial_text}")
        if self.backordered:
            parts.append(f"- back-ordered {self.open_quantity}{f', ETA {self.eta}' if self.eta else ''}")
        elif self.open_quantity > 0 and self.shipped:
            parts.append(f"- {self.open_quantity} still to ship")
        for number, quantity in self.invoiced:
            parts.append(f"- invoice {number}: {quantity}")
        return "\n".join(parts)


def line_states(status: PoStatus, invoices: Sequence[Invoice] = ()) -> dict[int, LineState]:
    by_line: dict[int, list[PoStatusItem]] = {}
    for item in status.items:
        try:
            by_line.setdefault(int(item.line_number), []).append(item)
        except ValueError:
            continue
    invoiced = invoiced_by_line(invoices)
    states = {}
    for number, parts in by_line.items():
        shipped = [p for p in parts if p.code == "shipped"]
        still_open = [p for p in parts if p.code == "accepted"]
        ordered = max(p.order_quantity for p in parts)
        shipped_quantity = sum(p.ship_quantity for p in shipped)
        packages = tuple(
            (package.tracking_number, package.ship_item_quantity, tuple(package.serials), day(part.ship_datetime),
             part.ship_method_description or part.ship_method)
            for part in shipped for package in part.packages)
        etas = sorted(d for d in (day(p.eta_date) for p in still_open if p.order_type == "BO") if d)
        states[number] = LineState(
            order_number=distinct(p.order_number for p in parts), ordered=ordered, shipped=shipped_quantity,
            packages=packages, eta=etas[0] if etas else None,
            backordered=any(p.order_type == "BO" for p in still_open),
            cancelled=bool(parts) and all(p.code == "deleted" for p in parts),
            open_quantity=max(0, ordered - shipped_quantity) if still_open else 0,
            invoiced=invoiced.get(number, ()))
    return states


def complete(state: str, lines: Mapping[int, LineState], *, invoices_followed: bool) -> bool:
    """Nothing left to follow: cancelled, or shipped in full and (when invoices are followed) every
    shipped unit invoiced."""
    if state == "cancelled":
        return True
    if state != "shipped":
        return False
    return not invoices_followed or all(ls.invoiced_quantity >= ls.shipped for ls in lines.values())


# ---- the plan -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StatusPlan:
    op: str  # update | unchanged | conflict | skip
    order: dict[str, Any]  # order-level changes (``_memo`` with a note)
    lines: list[dict[str, Any]]  # [{"psa_id", "changes", "_memo"}]
    fingerprint: str = ""
    reason: str | None = None
    before: dict[str, Any] | None = None


def plan_order(order: PsaOrder, status: PoStatus, *, status_map: Mapping[str, str], order_fields: Sequence[str],
               line_fields: Sequence[str], last_written: str | None, invoices: Sequence[Invoice] = (),
               invoices_followed: bool = True, order_limits: Mapping[str, int] | None = None,
               line_limits: Mapping[str, int] | None = None) -> StatusPlan:
    """What to write to one PSA PO (``last_written``: the cross-reference fingerprint, if any;
    ``invoices``: TD SYNNEX's invoices of the PO; the limits: the PSA fields' lengths)."""
    state = state_of(status)
    if state is None:
        return StatusPlan("skip", {}, [], reason=f"TD SYNNEX status {status.code!r}: nothing to follow")
    lines = line_states(status, invoices)
    desired_status = status_map.get(state)
    written_status = fingerprint_status(last_written)
    if written_status is not None and status_fingerprint(order.status) != written_status and \
            status_fingerprint(order.status) != status_fingerprint(desired_status):
        return StatusPlan("conflict", {}, [], reason=(
            f"status changed by hand to {order.status!r} since channelsync last wrote it "
            f"({written_status.removeprefix('status:')!r}); TD SYNNEX says {STATE_TEXT[state]}: not overwritten"))
    line_changes = []
    for line in order.lines:
        found = lines.get(line.line_number)
        if found is None:
            continue
        desired = found.tracked(line.sku, line.line_number)
        changes = _diff(desired, line.tracked, line_fields, line_limits or {}, line.memo)
        if changes:
            line_changes.append({"psa_id": line.psa_id, "changes": changes, "_memo": line.memo})
    desired_order = order_level(state, lines, status, order, status_map, invoices)
    order_changes = _diff(desired_order, order.tracked, order_fields, order_limits or {}, order.memo)
    if "note" in order_changes:
        order_changes["_memo"] = order.memo
    fingerprint = status_fingerprint(order_changes.get("status", order.status),
                                     complete=complete(state, lines, invoices_followed=invoices_followed))
    if not order_changes and not line_changes:
        return StatusPlan("unchanged", {}, [], fingerprint=fingerprint)
    before = {k: order.tracked.get(k) for k in order_changes if not k.startswith("_")}
    return StatusPlan("update", order_changes, line_changes, fingerprint=fingerprint, before=before)


def order_level(state: str, lines: Mapping[int, LineState], status: PoStatus, order: PsaOrder,
                status_map: Mapping[str, str], invoices: Sequence[Invoice] = ()) -> dict[str, Any]:
    skus = {line.line_number: line.sku for line in order.lines}
    dates = sorted(d for ls in lines.values() for d in (p[3] for p in ls.packages) if d)
    summary = [f"TD SYNNEX: {STATE_TEXT[state]}; sales order "
               f"{(distinct(i.order_number for i in status.items) or 'n/a').replace(',', ', ')}."]
    for number in sorted(lines):
        ls = lines[number]
        text = f"line {number}{f' (SKU {skus[number]})' if skus.get(number) else ''}: "
        if ls.cancelled:
            text += "cancelled"
        else:
            text += f"shipped {ls.shipped} of {ls.ordered}"
            if ls.backordered:
                text += f", back-ordered {ls.open_quantity}{f' ETA {ls.eta}' if ls.eta else ''}"
            tracking = [p[0] for p in ls.packages if p[0]]
            if tracking:
                text += f" — {', '.join(f'{p[4]} {p[0]} ({p[1]})' for p in ls.packages if p[0])}"
        summary.append(f"- {text}")
    billed = _in_order(invoices)
    for invoice in billed:
        parts = ", ".join(f"line {line.line_number}: {line.ship_quantity}" for line in invoice.lines)
        total = f" {invoice.total:.2f}" if invoice.total is not None else ""
        summary.append(f"- invoice {invoice.invoice_number} of {day(invoice.invoice_date) or 'n/a'}:{total} "
                       f"({parts or 'no lines'})")
    desired: dict[str, Any] = {
        "status": status_map.get(state), "order_number": distinct(i.order_number for i in status.items),
        "ship_date": dates[-1] if dates else None,
        "tracking": distinct(p[0] for ls in lines.values() for p in ls.packages), "note": "\n".join(summary)}
    if billed:  # nothing invoiced yet: the PO's invoice fields are left as they are (a person's, maybe)
        invoice_dates = sorted(d for d in (day(i.invoice_date) for i in billed) if d)
        desired["invoice_number"] = distinct(i.invoice_number for i in billed)
        desired["invoice_date"] = invoice_dates[-1] if invoice_dates else None
    return desired


LISTS = frozenset({"order_number", "tracking", "invoice_number", "serials"})  # comma-separated values


def as_stored(name: str, value: Any, limit: int | None, memo: str) -> Any:
    """``value`` as the PSA field of ``limit`` characters will hold it once the adapter wrote it."""
    if limit is None or value is None:
        return value
    if name == "note":
        return note_block(with_note_block(memo, str(value), limit=limit))
    if name in LISTS:
        return fit_list(value, limit)
    return value


def _diff(desired: Mapping[str, Any], current: Mapping[str, Any], fields: Sequence[str],
          limits: Mapping[str, int], memo: str) -> dict[str, Any]:
    out = {}
    for name in fields:
        if name not in desired:
            continue
        value = as_stored(name, desired.get(name), limits.get(name), memo)
        if _norm(value) != _norm(current.get(name)):
            out[name] = value
    return out


def _norm(value: Any) -> Any:
    if value is None or value is False or value == "":
        return None
    if isinstance(value, str):
        return value.strip()
    return value
