"""The order suites.

submit_orders (one row per PSA purchase order in the submit state, ``templates/submit_orders``):

- critical (the run stops): the key, the PSA id and every check column present;
- blocking (the PO is not sent; the PSA PO is marked with every reason): the customer PO number present
  and unique, and each check of :data:`~channelsync.templates.submit_orders.planning.CHECKS` passed —
  its column is empty. A PO failing several is quarantined with all of them at once (the suite reports
  every failed blocking expectation of a row).

order_status (one row per open PSA purchase order with its TD SYNNEX status):

- critical: key, PSA id, status code present;
- blocking: the customer PO number unique; the TD SYNNEX status code known; the status and the invoices
  answered for the PO asked (not another PO's); its invoices read (a PO whose invoice query failed waits
  for the next poll: writing it without them would drop the invoices its notes already show).
- warning: TD SYNNEX does not know the PO (``notFound``): the PSA carries an order number TD SYNNEX has
  no order for — a person's typo, or an order on another account. Nothing is written.
"""

from __future__ import annotations

import pandas as pd

from channelsync.quality.catalog import TEXT_TYPES
from channelsync.quality.suite import HELPER_PREFIX, Severity, Suite, rule
from channelsync.templates.submit_orders.planning import CHECKS

STATUS_CODES = ("accepted", "shipped", "deleted", "rejected", "notFound")
OTHER_PO = f"{HELPER_PREFIX}other_po"  # the PO number TD SYNNEX answered for, when not the one asked
OTHER_INVOICE_PO = f"{HELPER_PREFIX}other_invoice_po"  # an invoice's PO number, when not the one asked


def submit_suite() -> Suite:
    critical, blocking = Severity.CRITICAL, Severity.BLOCKING
    required = ("source_key", "psa_id", *(column for column, _ in CHECKS))
    return Suite(name="submit_orders", key_column="source_key", expectations=(
        *(rule(f"column present: {c}", critical, "ExpectColumnToExist", f"column {c} is missing", column=c)
          for c in required),
        rule("column type: source_key", critical, "ExpectColumnValuesToBeInTypeList", "column source_key has the "
           "wrong type", column="source_key", type_list=TEXT_TYPES),
        rule("PO number present", blocking, "ExpectColumnValuesToNotBeNull", "PO number missing", column="source_key"),
        rule("PO number unique", blocking, "ExpectColumnValuesToBeUnique",
           "two PSA purchase orders give the same TD SYNNEX customer PO number", column="source_key"),
        *(rule(reason, blocking, "ExpectColumnValuesToBeNull", reason, detail=column, column=column)
          for column, reason in CHECKS),
    ))


def _prepare_status(frame: pd.DataFrame) -> pd.DataFrame:
    data = frame.copy()
    asked = data["source_key"].astype("string").str.strip().str.casefold()
    answered = data["answered_po"].astype("string").str.strip()
    data[OTHER_PO] = answered.where(answered.str.casefold() != asked)
    invoiced = data["invoice_pos"].astype("string") if "invoice_pos" in data else pd.Series(
        pd.NA, index=data.index, dtype="string")
    others = [",".join(p for p in str(pos).split(",") if p.strip().casefold() != str(key).casefold()) or None
              if isinstance(pos, str) else None for pos, key in zip(invoiced, asked, strict=True)]
    data[OTHER_INVOICE_PO] = pd.Series(others, index=data.index, dtype="string")
    return data


def status_suite() -> Suite:
    critical, blocking, warning = Severity.CRITICAL, Severity.BLOCKING, Severity.WARNING
    return Suite(name="order_status", key_column="source_key", expectations=(
        *(rule(f"column present: {c}", critical, "ExpectColumnToExist", f"column {c} is missing", column=c)
          for c in ("source_key", "psa_id", "code", "answered_po")),
        rule("PO number unique", blocking, "ExpectColumnValuesToBeUnique",
           "two PSA purchase orders give the same TD SYNNEX customer PO number", column="source_key"),
        rule("status code known", blocking, "ExpectColumnValuesToBeInSet", "TD SYNNEX answered an unknown status code",
           detail="code", column="code", value_set=list(STATUS_CODES)),
        rule("status of this PO", blocking, "ExpectColumnValuesToBeNull",
           "TD SYNNEX answered the status of another PO", detail=OTHER_PO, column=OTHER_PO),
        rule("invoices of this PO", blocking, "ExpectColumnValuesToBeNull",
           "TD SYNNEX answered invoices of another PO", detail=OTHER_INVOICE_PO, column=OTHER_INVOICE_PO),
        rule("invoices read", blocking, "ExpectColumnValuesToBeNull",
           "TD SYNNEX's invoice query failed for this PO; nothing written, asked again next poll (option "
           "invoices: false if the account has no invoice service)", detail="invoice_error",
           column="invoice_error"),
        rule("PO known to TD SYNNEX", warning, "ExpectColumnValuesToNotBeInSet",
           "TD SYNNEX has no order for this customer PO number (on this account); nothing written", column="code",
           value_set=["notFound"]),
    ), prepare=_prepare_status)
