"""order_status, pure: TD SYNNEX PO status → what each open PSA purchase order should show, and the
update that gets it there (only what differs: an unchanged order costs no write).

TD SYNNEX's PO status (spec v2.42) lists one ``<Item>`` per line *part*: a split or partial shipment is
the same ``lineNumber`` more than once (a ``shipped`` part with its packages, an ``accepted`` remainder,
possibly back-ordered with an ETA); a line the sales rep killed is ``deleted``. Per PSA line (matched
by line number, the number submit_orders sent) this gives: the sales order number(s), quantity shipped
of ordered, every package (tracking number, quantity, serial numbers, ship date, carrier), back-order
and ETA, cancellation. Per order: the state (``accepted``, ``backordered``, ``partially_shipped``,
``shipped``, ``cancelled``) → the PSA status of the template's map, the order numbers, the latest ship
date, the tracking numbers, and a summary note.

A PO whose PSA status differs from the one channelsync last wrote (the cross-reference) and from the
one it would write now was changed by a person: a *conflict*, nothing written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from channelsync.canonical.orders import PsaOrder, day, distinct, status_fingerprint
from channelsync.clients.tdsynnex.xmlmodels import Package, PoStatus, PoStatusItem

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
        return "\n".join(parts)


def line_states(status: PoStatus) -> dict[int, LineState]:
    by_line: dict[int, list[PoStatusItem]] = {}
    for item in status.items:
        try:
            by_line.setdefault(int(item.line_number), []).append(item)
        except ValueError:
            continue
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
            open_quantity=max(0, ordered - shipped_quantity) if still_open else 0)
    return states


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
               line_fields: Sequence[str], last_written: str | None) -> StatusPlan:
    """What to write to one PSA PO (``last_written``: the cross-reference fingerprint, if any)."""
    state = state_of(status)
    if state is None:
        return StatusPlan("skip", {}, [], reason=f"TD SYNNEX status {status.code!r}: nothing to follow")
    lines = line_states(status)
    desired_status = status_map.get(state)
    if last_written is not None and status_fingerprint(order.status) != last_written and \
            status_fingerprint(order.status) != status_fingerprint(desired_status):
        return StatusPlan("conflict", {}, [], reason=(
            f"status changed by hand to {order.status!r} since channelsync last wrote it "
            f"({last_written.removeprefix('status:')!r}); TD SYNNEX says {STATE_TEXT[state]}: not overwritten"))
    line_changes = []
    for line in order.lines:
        found = lines.get(line.line_number)
        if found is None:
            continue
        desired = found.tracked(line.sku, line.line_number)
        changes = _diff(desired, line.tracked, line_fields)
        if changes:
            line_changes.append({"psa_id": line.psa_id, "changes": changes, "_memo": line.memo})
    desired_order = order_level(state, lines, status, order, status_map)
    order_changes = _diff(desired_order, order.tracked, order_fields)
    if "note" in order_changes:
        order_changes["_memo"] = order.memo
    fingerprint = status_fingerprint(order_changes.get("status", order.status))
    if not order_changes and not line_changes:
        return StatusPlan("unchanged", {}, [], fingerprint=fingerprint)
    before = {k: order.tracked.get(k) for k in order_changes if not k.startswith("_")}
    return StatusPlan("update", order_changes, line_changes, fingerprint=fingerprint, before=before)


def order_level(state: str, lines: Mapping[int, LineState], status: PoStatus, order: PsaOrder,
                status_map: Mapping[str, str]) -> dict[str, Any]:
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
    return {"status": status_map.get(state), "order_number": distinct(i.order_number for i in status.items),
            "ship_date": dates[-1] if dates else None,
            "tracking": distinct(p[0] for ls in lines.values() for p in ls.packages), "note": "\n".join(summary)}


def _diff(desired: Mapping[str, Any], current: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {name: desired.get(name) for name in fields
            if name in desired and _norm(desired.get(name)) != _norm(current.get(name))}


def _norm(value: Any) -> Any:
    if value is None or value is False or value == "":
        return None
    if isinstance(value, str):
        return value.strip()
    return value
