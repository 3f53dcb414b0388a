"""submit_orders, pure: the checks a PO must pass, what to do with each PO, and what to write back.

No I/O: the steps hand in the PSA orders (canonical), TD SYNNEX P&A, the ledger's states and the
cross-reference, and stage what comes out.

Checks (each a column of the extract; the quality suite blocks a PO whose column is set, and the PSA
note lists every reason at once — the same texts, from :data:`CHECKS`):

- the PO number must be usable as TD SYNNEX's customer PO number (AN 20, unique per account);
- the PO has lines; every line has a TD SYNNEX SKU that P&A knows, is active and authorised;
- every line's unit cost is within the tolerance of TD SYNNEX's current price;
- quantities are positive whole numbers;
- ship-to complete and within the XML PO's lengths (name 30, street 60 / 30, city 20, state 2,
  ZIP 10), the state a 2-letter code, the postal code valid for the country (US ZIP / ZIP+4, Canadian
  A1A 1A1);
- no character the XML PO rejects. ASSUMPTION: the spec types these fields AN (alphanumeric) without
  listing characters; TD SYNNEX's order entry is taken to accept printable ASCII only, so control
  characters and anything beyond ASCII (accents, typographic quotes, emoji) are refused with the field
  and the characters named. XML's own specials (``&``, ``<``) are escaped by the client and are fine.

What each PO becomes (:func:`decide`):

- ``submit``: send it (a ledger claim already *applied* makes the loader link the order instead and
  only the write-back happens: a crash after TD SYNNEX accepted it, before the PSA was told);
- ``mark_invalid``: failed a check: status ``invalid_status`` and a note with every reason; never sent;
- ``conflict``: submitted already (the ledger says so) but the PSA shows it back in the submit state —
  a person reset it. Never sent again; reported;
- ``unchanged``: already carries its order number in the submitted status.

A PO in the submit state longer than ``stuck_after_hours`` without an accepted order is also *stuck*.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channelsync.canonical.orders import PsaOrder, status_fingerprint
from channelsync.templates.submit_orders.options import PSA_STATUSES, SubmitOrdersOptions

PO_NUMBER_MAX = 20
PO_NUMBER_PATTERN = re.compile(r"^[A-Za-z0-9._/-]+$")
# XML PO ship-to lengths (spec ST-01…ST-11)
SHIP_TO_LIMITS = {"name": 30, "address1": 60, "address2": 30, "city": 20, "state": 2, "zip_code": 10,
                  "contact_name": 30, "phone": 20, "email": 30}
SHIP_TO_REQUIRED = ("name", "address1", "city", "state", "zip_code")
SHIP_TO_LABELS = {"name": "name", "address1": "street", "address2": "street 2", "city": "city", "state": "state",
                  "zip_code": "postal code", "country": "country", "contact_name": "contact", "phone": "phone",
                  "email": "e-mail"}
POSTAL_CODES = {"US": re.compile(r"^\d{5}(-\d{4})?$"), "CA": re.compile(r"^[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d$")}
OTHER_POSTAL_CODE = re.compile(r"^[A-Za-z0-9 -]{2,10}$")

# (extract column, reason): the order is the order of the reasons in the note and in the quarantine item.
CHECKS: tuple[tuple[str, str], ...] = (
    ("problem_po_number", "PO number not usable as the TD SYNNEX customer PO number"),
    ("problem_empty", "PO has no lines"),
    ("problem_sku", "not a TD SYNNEX product known to the catalog"),
    ("problem_price", "unit cost differs from the current TD SYNNEX price beyond the tolerance"),
    ("problem_quantity", "quantity is not a positive whole number"),
    ("problem_ship_to", "ship-to incomplete or invalid"),
    ("problem_characters", "characters the TD SYNNEX XML PO does not accept"),
)
CHECK_COLUMNS = tuple(column for column, _ in CHECKS)


@dataclass(frozen=True)
class Pna:
    status: str  # Active | Discontinued | Not found | Not authorized
    price: float | None


@dataclass(frozen=True)
class Tolerance:
    absolute: float
    percent: float

    def allows(self, cost: float, price: float) -> bool:
        return abs(cost - price) <= max(self.absolute, abs(price) * self.percent / 100) + 1e-9


def psa_statuses(options: SubmitOrdersOptions, psa_system: str) -> tuple[str, str, str]:
    """(submit, submitted, invalid) status labels for this PSA: the options, else the PSA's defaults."""
    submit, submitted, invalid = PSA_STATUSES[psa_system]
    return (options.submit_status or submit, options.submitted_status or submitted, options.invalid_status or invalid)


# ---- checks -------------------------------------------------------------------------------------------
def customer_po_number(order: PsaOrder, prefix: str) -> str:
    return f"{prefix}{order.number.strip()}"


def order_checks(order: PsaOrder, po_number: str, pna: Mapping[str, Pna], tolerance: Tolerance) -> dict[str, Any]:
    """Every check column of one PO: None when it passes, else what failed (all of it)."""
    return {
        "problem_po_number": _po_number_problem(po_number),
        "problem_empty": "no lines" if not order.lines else None,
        "problem_sku": _join(_sku_problem(line.line_number, line.sku, pna) for line in order.lines),
        "problem_price": _join(_price_problem(line.line_number, line.sku, line.unit_cost, pna, tolerance)
                               for line in order.lines),
        "problem_quantity": _join(f"line {line.line_number}: {_number(line.quantity)}" for line in order.lines
                                  if not (line.quantity > 0 and float(line.quantity).is_integer())),
        "problem_ship_to": _join(_ship_to_problems(order.ship_to)),
        "problem_characters": _join(_character_problems(order.ship_to)),
    }


def reasons(row: Mapping[str, Any]) -> list[str]:
    """The reasons of a PO that failed checks, as the quality suite words them."""
    return [f"{reason}: {row[column]}" for column, reason in CHECKS if _present(row.get(column))]


def _present(value: Any) -> bool:
    return isinstance(value, str) and value != ""  # a staged frame's missing value is NA / NaN, never a str


def _join(parts: Any) -> str | None:
    found = [str(p) for p in parts if p]
    return "; ".join(found) if found else None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _po_number_problem(po_number: str) -> str | None:
    if not po_number:
        return "empty"
    if len(po_number) > PO_NUMBER_MAX:
        return f"{po_number!r} is longer than {PO_NUMBER_MAX} characters"
    if not PO_NUMBER_PATTERN.match(po_number):
        return f"{po_number!r} has characters other than letters, digits and . _ / -"
    return None


def _sku_problem(line: int, sku: str | None, pna: Mapping[str, Pna]) -> str | None:
    if not sku:
        return f"line {line}: the product has no TD SYNNEX SKU"
    found = pna.get(sku)
    if found is None or found.status == "Not found":
        return f"line {line}: SKU {sku} is unknown to TD SYNNEX"
    if found.status == "Not authorized":
        return f"line {line}: SKU {sku} may not be bought on this account"
    if found.status != "Active":
        return f"line {line}: SKU {sku} is {found.status.lower()}"
    return None


def _price_problem(line: int, sku: str | None, cost: float | None, pna: Mapping[str, Pna],
                   tolerance: Tolerance) -> str | None:
    found = pna.get(sku or "")
    if found is None or found.status != "Active":
        return None  # the SKU check reports it
    if found.price is None:
        return f"line {line} (SKU {sku}): TD SYNNEX's current price could not be read"
    if cost is None:
        return f"line {line} (SKU {sku}): no unit cost"
    if not tolerance.allows(float(cost), float(found.price)):
        return f"line {line} (SKU {sku}): {float(cost):.2f} vs TD SYNNEX {float(found.price):.2f}"
    return None


def _ship_to_problems(ship_to: Mapping[str, str]) -> list[str]:
    problems = [f"{SHIP_TO_LABELS[name]} missing" for name in SHIP_TO_REQUIRED if not (ship_to.get(name) or "").strip()]
    for name, limit in SHIP_TO_LIMITS.items():
        value = (ship_to.get(name) or "").strip()
        if len(value) > limit and name != "state":
            problems.append(f"{SHIP_TO_LABELS[name]} longer than {limit} characters")
    state = (ship_to.get("state") or "").strip()
    if state and not re.fullmatch(r"[A-Za-z]{2}", state):
        problems.append(f"state {state!r} is not a 2-letter code")
    country = (ship_to.get("country") or "").strip().upper()
    postal = (ship_to.get("zip_code") or "").strip()
    if not re.fullmatch(r"[A-Z]{2}", country):
        problems.append(f"country {country!r} is not a 2-letter code")
    elif postal and not POSTAL_CODES.get(country, OTHER_POSTAL_CODE).match(postal):
        problems.append(f"postal code {postal!r} is not valid for {country}")
    return problems


def _character_problems(ship_to: Mapping[str, str]) -> list[str]:
    problems = []
    for name, value in ship_to.items():
        bad = sorted({ch for ch in str(value or "") if not " " <= ch <= "~"})
        if bad:
            shown = ", ".join(repr(ch) if unicodedata.category(ch).startswith("C") else ch for ch in bad)
            problems.append(f"{SHIP_TO_LABELS.get(name, name)} has {shown}")
    return problems


# ---- the submit operation ---------------------------------------------------------------------------
def submission_fields(order: PsaOrder, po_number: str, *, ship_method: str, drop_ship: bool,
                      backorder_allowed: bool) -> dict[str, Any]:
    """What the TD SYNNEX executor sends (``adapters/tdsynnex_orders.purchase_order``)."""
    return {
        "po_number": po_number,
        "ship_to": {k: (v or "").strip() for k, v in order.ship_to.items()},
        "lines": [{"line_number": line.line_number, "sku": line.sku, "quantity": int(line.quantity),
                   "unit_price": f"{float(line.unit_cost or 0):.2f}"} for line in order.lines],
        "ship_method": ship_method, "drop_ship": drop_ship, "backorder_allowed": backorder_allowed,
    }


# ---- deciding ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    op: str  # submit | mark_invalid | conflict | unchanged
    reason: str | None = None
    stuck: str | None = None  # why the PO is reported stuck (it is still planned as ``op``)


def shows_submitted(order: PsaOrder, submitted_status: str) -> bool:
    return bool(order.tracked.get("order_number")) and (order.status or "").casefold() == submitted_status.casefold()


def decide(order: PsaOrder, *, valid: bool, ledger_status: str | None, written_before: bool,
           submit_status: str, submitted_status: str, stuck_after_hours: float, now: datetime) -> Decision:
    """What to do with one PO picked up in the submit state (see the module docstring)."""
    if shows_submitted(order, submitted_status):
        return Decision("unchanged")
    if ledger_status == "applied":
        number = order.tracked.get("order_number")
        if written_before or number:
            return Decision("conflict", reason=(
                f"already submitted to TD SYNNEX{f' (order {number})' if number else ''}; its status was set back to "
                f"{order.status!r} in the PSA since channelsync wrote {submitted_status!r}: not sent again. Set it "
                f"back to {submitted_status!r}, or cancel the order with TD SYNNEX"))
        return Decision("submit")  # accepted, never written back: the load links it and writes it back
    if not valid:
        return Decision("mark_invalid")
    return Decision("submit", stuck=_stuck(order, submit_status, ledger_status, stuck_after_hours, now))


def _stuck(order: PsaOrder, submit_status: str, ledger_status: str | None, hours: float, now: datetime) -> str | None:
    since = _parse(order.since)
    if since is None:
        return None
    waited = (now - since).total_seconds() / 3600
    if waited < hours:
        return None
    last = {None: "never sent yet", "failed": "the last attempt failed",
            "unknown": "the last attempt got no answer (TD SYNNEX PO status is asked before any resend)",
            "pending": "an attempt is under way or died"}.get(ledger_status, f"ledger {ledger_status}")
    return (f"in {submit_status!r} for {waited:.1f} h (since {order.since}) without an accepted TD SYNNEX order; "
            f"{last}")


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# ---- writing back -----------------------------------------------------------------------------------
def invalid_update(order: PsaOrder, problems: list[str], *, invalid_status: str, submit_status: str
                   ) -> dict[str, Any]:
    note = "Not sent to TD SYNNEX. Fix and set the status back to " f"{submit_status!r}:\n" + "\n".join(
        f"- {problem}" for problem in problems)
    return _changes(order, {"status": invalid_status, "note": note})


def rejected_update(order: PsaOrder, message: str, *, invalid_status: str) -> dict[str, Any]:
    return _changes(order, {"status": invalid_status, "note": f"TD SYNNEX rejected this PO (nothing was ordered):\n"
                                                              f"- {message}"})


def accepted_update(order: PsaOrder, numbers: str, attention: list[str], *, submitted_status: str) -> dict[str, Any]:
    note = f"Submitted to TD SYNNEX: sales order {numbers.replace(',', ', ')}." + "".join(
        f"\n- {line}" for line in attention)
    return _changes(order, {"status": submitted_status, "order_number": numbers, "note": note})


def _changes(order: PsaOrder, desired: dict[str, Any]) -> dict[str, Any]:
    """The ``order`` part of an update: only what differs from the PSA (``_memo`` rides along with a note)."""
    changes = {name: value for name, value in desired.items()
               if (order.tracked.get(name) or None) != (value or None)}
    if "note" in changes:
        changes["_memo"] = order.memo
    return changes


def fingerprint_after(order: PsaOrder, changes: dict[str, Any]) -> str:
    return status_fingerprint(changes.get("status", order.status))
