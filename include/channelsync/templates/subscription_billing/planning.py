"""One customer's invoice lines + its PSA contract → the writes, the items and the reports (pure).

The PSA-specific arithmetic lives in ``reconcile/billing_autotask.py`` (adjustments) and
``reconcile/billing_connectwise.py`` (additions); this module decides what applies to a customer:

- the contract must exist, be a recurring contract (Autotask: Recurring Service) and cover every
  effective date the invoice needs; otherwise the customer fails as a whole with the reason (the
  other customers go on) — posting half a customer's seats would leave its contract wrong;
- each SKU needs its PSA service (``PC_`` + SKU, made by service_catalog_sync, or an override); a SKU
  without one fails alone;
- an annual subscription goes to a yearly service on Autotask; ConnectWise additions bill with the
  agreement's cycle, so an annual line there is a Warning item saying why, never dropped silently;
- credits and one-off lines become contract charges, one per line;
- a usage service with no usage this month gets 0 units for the month (``zero_usage_without_lines``);
- with ``billing_in_advance`` the seats at the end of the invoice are set from the next period's first day.

Keys: an adjustment's key holds the contract, service, date and the units before → after there; an
addition's the agreement, product, start and the invoices; a charge's the invoice line. None holds the
integration, so a second integration on the same PSA cannot post the same thing again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from channelsync.errors import define
from channelsync.reconcile import billing_autotask as at
from channelsync.reconcile import billing_connectwise as cw
from channelsync.reconcile import billing_edits
from channelsync.reconcile.billing_timeline import Charge, Segment, ServiceTimeline, timelines, zero_usage

ONE_DAY = timedelta(days=1)
CONTRACT_MISSING = define("BILLING_CONTRACT_MISSING", "channelsync",
                          "The customer's mapped PSA contract / agreement does not exist (any more): fix the "
                          "customer mapping")
CONTRACT_NOT_RECURRING = define("BILLING_CONTRACT_NOT_RECURRING", "channelsync",
                                "The mapped Autotask contract is not a Recurring Service contract: map the "
                                "customer to one")
CONTRACT_DATES = define("BILLING_CONTRACT_DATES", "channelsync",
                        "The invoice needs changes on dates outside the contract's start and end dates: extend "
                        "or renew the contract (or map the customer to the current one), then rerun the customer")
CONTRACT_KIND = define("BILLING_CONTRACT_KIND", "channelsync",
                       "The mapped contract / agreement is not of the kind this integration bills "
                       "(subscription_billing's contract_kind): map the customer to one that is")
SERVICE_MISSING = define("BILLING_SERVICE_MISSING", "channelsync",
                         "No PSA service for this product: run service_catalog_sync (or add a service override), "
                         "then rerun the customer")
ANNUAL_UNSUPPORTED = define("BILLING_ANNUAL_ON_MONTHLY_AGREEMENT", "channelsync",
                            "An annual subscription cannot be an addition of a monthly ConnectWise agreement; bill "
                            "it on a yearly agreement or as a one-time product. Not posted")

EDIT_OVERWRITTEN = define("BILLING_HAND_EDIT_OVERWRITTEN", "channelsync",
                          "A contract service channelsync posts was changed by hand in the PSA; the invoice wins, "
                          "so the edit was overwritten (what was posted and what the person set are in the item)")
EDIT_OVERWRITTEN_OUTCOME = "edit_overwritten"


@dataclass(frozen=True)
class Contract:
    psa_id: str
    start: date
    end: date | None
    recurring: bool = True
    active: bool = True
    kind: str | None = None  # Autotask contract type label, ConnectWise agreement type name


@dataclass(frozen=True)
class Service:
    psa_id: str
    name: str
    period: str = "Monthly"  # Monthly | Yearly


@dataclass
class CustomerPlan:
    customer: str  # the partition key: "<distributor>:<account>:<customer id>"
    operations: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)  # plan-time outcomes (failed, warning)
    diff: list[dict[str, Any]] = field(default_factory=list)
    margins: list[dict[str, Any]] = field(default_factory=list)
    proration: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    left: dict[str, str] = field(default_factory=dict)  # per service id: the stretches this plan posts
    contract_id: str = ""


def plan_customer(
    customer: str, lines: list[Any], *, psa_system: str, contract: Contract | None,
    units: Iterable[Mapping[str, Any]], services: Mapping[str, Service], period: tuple[date, date],
    usage_skus: Iterable[str] = (), zero_usage_without_lines: bool = True, billing_in_advance: bool = False,
    margin_floor_percent: float = 0.0, left: Mapping[str, str] | None = None, contract_kind: str | None = None,
) -> CustomerPlan:
    """``left``: per PSA service id, the stretches channelsync posted last time (``billing_edits.to_json``),
    to report a person's edits before they are overwritten."""
    plan = CustomerPlan(customer)
    found, charges = timelines(lines)
    invoices = ",".join(sorted({str(line.invoice_id) for line in lines}))
    plan.totals = {"customer": customer, "invoice_total": round(sum(float(x.price_total) for x in lines), 2),
                   "lines": len(lines)}
    if contract is None or not contract.recurring:
        code = CONTRACT_MISSING if contract is None else CONTRACT_NOT_RECURRING
        _fail(plan, customer, code, None)
        return plan
    if contract_kind and (contract.kind or "").casefold() != contract_kind.casefold():
        _fail(plan, customer, CONTRACT_KIND, f"contract {contract.psa_id} is {contract.kind!r}, not {contract_kind!r}")
        return plan
    billed = {t.sku for t in found}
    if zero_usage_without_lines:
        found += [zero_usage(sku, *period) for sku in sorted(set(usage_skus) - billed)
                  if sku in services and _has_units(units, services[sku].psa_id, period[0])]
    found = [_ended(t, period) for t in found]
    if billing_in_advance:
        found = [_in_advance(t, period) for t in found]
    dates = [s.start for t in found for s in t.segments] + [c.on for c in charges]
    outside = sorted({d for d in dates if d < contract.start or (contract.end is not None and d > contract.end)})
    if outside:
        _fail(plan, customer, CONTRACT_DATES, f"contract {contract.psa_id} runs {contract.start} – "
              f"{contract.end or 'open'}; the invoice needs {', '.join(map(str, outside[:3]))}")
        return plan
    plan.contract_id = contract.psa_id
    rows = [dict(r) for r in units]
    posted = 0.0
    for timeline in found:
        service = services.get(timeline.sku)
        source_key = f"{customer}|{timeline.sku}"
        if service is None:
            plan.items.append(_item(source_key, "failed", SERVICE_MISSING, f"no PSA service for {timeline.sku}"))
            continue
        if timeline.billing_cycle in ("Annual", "Triennial") and psa_system == "connectwise":
            plan.items.append(_item(source_key, "warning", ANNUAL_UNSUPPORTED,
                                    f"{timeline.sku} is billed {timeline.billing_cycle.lower()}"))
            continue
        mine = [r for r in rows if str(r["service_id"]) == service.psa_id]
        changed_by_hand = billing_edits.edits(billing_edits.from_json(left[service.psa_id]), mine) \
            if left and service.psa_id in left else []
        if changed_by_hand:
            plan.items.append(_item(source_key, EDIT_OVERWRITTEN_OUTCOME, EDIT_OVERWRITTEN,
                                    billing_edits.describe(changed_by_hand)))
        plan.left[service.psa_id] = billing_edits.to_json(timeline.segments)
        if psa_system == "autotask":
            _autotask(plan, source_key, contract, service, timeline, mine, invoices)
        else:
            _connectwise(plan, source_key, contract, service, timeline, mine, invoices)
        _reports(plan, timeline, lines, margin_floor_percent)
        posted += sum(p["implied"] for p in plan.proration if p["sku"] == timeline.sku)
    for charge in charges:
        _charge(plan, customer, contract, charge, services.get(charge.sku))
        posted += round(charge.quantity * charge.unit_price, 2)
    plan.totals["posted_total"] = round(posted, 2)
    plan.totals["difference"] = round(plan.totals["invoice_total"] - posted, 2)
    return plan


def _has_units(units: Iterable[Mapping[str, Any]], service_id: str, day: date) -> bool:
    for row in units:
        if str(row["service_id"]) != service_id:
            continue
        start, end = _day(row["start"]), _day(row["end"]) if row.get("end") else None
        if start <= day - ONE_DAY <= (end or day) and float(row["units"] or 0) > 0:
            return True
    return False


def _ended(timeline: ServiceTimeline, period: tuple[date, date]) -> ServiceTimeline:
    """A monthly subscription whose charges stop before the invoice's period ends (cancelled, or a
    subscription billed only for some days) has no seats after its last charge: say so, or the PSA
    would carry its last level on."""
    last = timeline.segments[-1]
    if timeline.usage or timeline.billing_cycle != "Monthly" or last.end >= period[1] or not last.units:
        return timeline
    zero = Segment(last.end + ONE_DAY, period[1], 0.0, last.unit_price, last.unit_cost)
    return ServiceTimeline(timeline.sku, [*timeline.segments, zero], timeline.line_keys, timeline.billing_cycle,
                           timeline.usage)


def _in_advance(timeline: ServiceTimeline, period: tuple[date, date]) -> ServiceTimeline:
    last = timeline.segments[-1]
    if timeline.usage or last.end < period[1]:
        return timeline
    following = period[1] + ONE_DAY
    next_end = (following.replace(day=28) + timedelta(days=4)).replace(day=1) - ONE_DAY
    segments = [*timeline.segments, Segment(following, next_end, last.units, last.unit_price, last.unit_cost)]
    merged: list[Segment] = []
    for segment in segments:
        if merged and (merged[-1].units, merged[-1].unit_price, merged[-1].unit_cost) == (
                segment.units, segment.unit_price, segment.unit_cost):
            merged[-1] = Segment(merged[-1].start, segment.end, segment.units, segment.unit_price, segment.unit_cost)
        else:
            merged.append(segment)
    return ServiceTimeline(timeline.sku, merged, timeline.line_keys, timeline.billing_cycle, timeline.usage)


def _autotask(plan: CustomerPlan, source_key: str, contract: Contract, service: Service,
              timeline: ServiceTimeline, rows: list[dict[str, Any]], invoices: str) -> None:
    current = [at.UnitRow(_day(r["start"]), _day(r["end"]) if r.get("end") else None, float(r["units"] or 0),
                          _num(r.get("unit_price")), _num(r.get("unit_cost"))) for r in rows]
    for adjustment in at.adjustments(timeline.segments, current):
        day = adjustment.effective.isoformat()
        key = (f"billing:adjust:{contract.psa_id}:{service.psa_id}:{day}:{adjustment.units_before:g}>"
               f"{adjustment.units_after:g}:{adjustment.unit_price}:{adjustment.unit_cost}:{invoices}")
        fields = {"contract_id": contract.psa_id, "service_id": service.psa_id, "effective": day,
                  "unit_change": adjustment.unit_change, "unit_price": adjustment.unit_price,
                  "unit_cost": adjustment.unit_cost, "units_before": adjustment.units_before,
                  "units_after": adjustment.units_after}
        changed = ["units"] if adjustment.unit_change else []
        if adjustment.price_before is None or adjustment.unit_price != adjustment.price_before:
            changed.append("unit_price")
        before = {"units": adjustment.units_before, "unit_price": adjustment.price_before}
        _operation(plan, key, "adjust", f"{source_key}|{day}", contract.psa_id, fields, changed, before,
                   timeline.line_keys, chain=f"{contract.psa_id}:{service.psa_id}")


def _connectwise(plan: CustomerPlan, source_key: str, contract: Contract, service: Service,
                 timeline: ServiceTimeline, rows: list[dict[str, Any]], invoices: str) -> None:
    current = [cw.Addition(str(r["record_id"]), _day(r["start"]), _day(r["end"]) if r.get("end") else None,
                           float(r["units"] or 0), _num(r.get("unit_price")), _num(r.get("unit_cost")))
               for r in rows]
    for change in cw.changes(timeline.segments, current):
        start = change.start.isoformat()
        end = change.end.isoformat() if change.end else None
        if change.op == "add":
            key = f"billing:add:{contract.psa_id}:{service.psa_id}:{start}:{invoices}"
            fields: dict[str, Any] = {"contract_id": contract.psa_id, "service_id": service.psa_id,
                                      "start": start, "end": end, "quantity": change.units,
                                      "unit_price": change.unit_price, "unit_cost": change.unit_cost}
            changed, target = ["quantity", "unit_price", "unit_cost", "end"], contract.psa_id
        else:
            key = f"billing:update:{change.record_id}:{json.dumps(change.changes, default=str, sort_keys=True)}"
            fields = {"contract_id": contract.psa_id, "service_id": service.psa_id,
                      **{k: (v.isoformat() if isinstance(v, date) else v) for k, v in change.changes.items()}}
            changed, target = sorted(change.changes), str(change.record_id)
        _operation(plan, key, change.op, f"{source_key}|{start}", target, fields, changed, change.before,
                   timeline.line_keys)


def _charge(plan: CustomerPlan, customer: str, contract: Contract, charge: Charge, service: Service | None) -> None:
    # ConnectWise carries a one-off as a one-time addition of the product's catalog item (its service).
    fields = {"contract_id": contract.psa_id, "service_id": service.psa_id if service else None,
              "name": charge.name[:100], "on": charge.on.isoformat(), "quantity": charge.quantity,
              "unit_price": charge.unit_price, "unit_cost": charge.unit_cost,
              "description": f"{charge.name} ({charge.sku}), invoice line {charge.line_key}"}
    _operation(plan, f"billing:charge:{charge.line_key}", "charge", f"{customer}|{charge.sku}|{charge.line_key}",
               contract.psa_id, fields, ["quantity", "unit_price"], {}, [charge.line_key])


def _operation(plan: CustomerPlan, key: str, op: str, source_key: str, target_id: str, fields: dict[str, Any],
               changed: list[str], before: dict[str, Any], lines: list[str], chain: str = "") -> None:
    """``chain``: operations that must reach the PSA in plan order (an Autotask adjustment sets the price
    from its date onwards, so a later one applied first would be overwritten by the earlier one)."""
    plan.operations.append({"partition": plan.customer, "key": key, "op": op, "source_key": source_key,
                            "chain": chain,
                            "target_id": target_id, "fields": json.dumps(fields, sort_keys=True, default=str),
                            "changed_fields": json.dumps(changed), "before": json.dumps(before, default=str),
                            "lines": json.dumps(lines)})
    for name in changed:
        after = fields.get("unit_change" if name == "units" else name)
        if name == "units":
            after = fields.get("units_after", fields.get("quantity"))
        plan.diff.append({"source_key": source_key, "op": op, "field": name,
                          "before": None if before.get(name) is None else str(before.get(name)),
                          "after": None if after is None else str(after)})


def _reports(plan: CustomerPlan, timeline: ServiceTimeline, lines: list[Any], floor: float) -> None:
    last = timeline.segments[-1]
    if last.unit_price is not None and last.unit_cost is not None and last.units:
        margin = (last.unit_price - last.unit_cost) / last.unit_price * 100 if last.unit_price else -100.0
        plan.margins.append({"customer": plan.customer, "sku": timeline.sku, "units": last.units,
                             "unit_cost": last.unit_cost, "unit_price": last.unit_price,
                             "margin_percent": round(margin, 2),
                             "flag": "below cost" if last.unit_price < last.unit_cost
                             else ("under floor" if margin < floor else "")})
    if timeline.usage:
        implied = round(sum(s.unit_price or 0 for s in timeline.segments if s.units), 2)
        plan.proration.append(_proration(plan.customer, timeline.sku, timeline.start, implied, lines))
        return
    if timeline.billing_cycle in ("Annual", "Triennial"):
        return  # billed once for the term: no monthly proration to check
    rows = [at.UnitRow(s.start, s.end, s.units, s.unit_price, s.unit_cost) for s in timeline.segments]
    month = timeline.start.replace(day=1)
    while month <= timeline.end:
        month_end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - ONE_DAY
        implied = at.implied_amount(rows, month, month_end)
        plan.proration.append(_proration(plan.customer, timeline.sku, month, implied, lines))
        month = month_end + ONE_DAY


def _proration(customer: str, sku: str, month: date, implied: float, lines: list[Any]) -> dict[str, Any]:
    invoiced = round(sum(float(x.price_total) for x in lines if str(x.sku) == sku
                         and _day(x.charge_start).replace(day=1) == month
                         and str(x.charge_type) not in ("customerCredit", "oneTime")), 2)
    return {"customer": customer, "sku": sku, "month": month.isoformat(), "implied": implied,
            "invoiced": invoiced, "difference": round(implied - invoiced, 2)}


def _fail(plan: CustomerPlan, customer: str, code: str, detail: str | None) -> None:
    plan.items.append(_item(customer, "failed", code, detail))


def _item(source_key: str, outcome: str, code: str, detail: str | None) -> dict[str, Any]:
    from channelsync.errors import CATALOG

    message = CATALOG[code].summary + (f" ({detail})" if detail else "")
    return {"entity_type": "subscription", "source_key": source_key, "psa_id": None, "outcome": outcome,
            "error_code": code, "error_message": message, "changed_fields": []}


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _num(value: Any) -> float | None:
    if value is None or value != value:
        return None
    return float(value)
