"""The invoice-line suite of subscription_billing (canonical INVOICE_LINE + the columns extract joins).

- critical (the run stops, nothing posted): the key and every column the rules read present;
- blocking (the line is quarantined with every reason; the customer's other lines still post — a
  seat line missing from a customer's timeline would be read as fewer seats, so the customer's plan
  works on the lines that remain and the item list shows the quarantined one):
  the line could be read; the charge type is one channelsync knows; dates readable and in order; a
  seat or usage line's charge inside the invoice's period (credits are for past periods by nature);
  whole seat quantities, and no negative quantity except Pax8-style deltas (add, remove, cancel) and
  credits; an accepted currency; the line not a duplicate of an earlier one (the same line id, or a seat
  or credit line identical in every billed value: a distributor page served twice must not double
  seats); the product on the price list or overridden (a retired product says how to bill it); the
  customer mapped to one PSA contract.
"""

from __future__ import annotations

import pandas as pd

from channelsync.canonical.billing import ADD, CANCEL, CHARGE_TYPES, CREDIT, ONE_TIME, REMOVE, SEAT_CHARGE_TYPES
from channelsync.quality.catalog import TEXT_TYPES
from channelsync.quality.suite import (
    COUNT_MAX,
    HELPER_PREFIX,
    MONEY_MAX,
    Expectation,
    Severity,
    Suite,
    numbers_storable,
    rule,
)

REQUIRED = ("source_key", "customer_key", "charge_type", "charge_start", "charge_end", "quantity", "currency",
            "sku", "known_product", "mapping_count", "period_start", "period_end", "parse_error")
# What makes two seat lines the same line (their ids aside).
CONTENT = ("account", "invoice_id", "customer_id", "subscription_id", "sku", "charge_type", "charge_start",
           "charge_end", "quantity", "billable_ratio", "unit_price", "unit_cost", "price_total", "cost_total",
           "reference_id")
CHECKS: tuple[tuple[str, str], ...] = (
    (f"{HELPER_PREFIX}charge_type", "charge type not known to channelsync"),
    (f"{HELPER_PREFIX}dates", "charge dates unreadable or end before start"),
    (f"{HELPER_PREFIX}period", "charge dates outside the invoice's period"),
    (f"{HELPER_PREFIX}quantity", "quantity not allowed for this charge type"),
    (f"{HELPER_PREFIX}currency", "currency not accepted by this integration"),
    (f"{HELPER_PREFIX}duplicate", "duplicate of an earlier line of the invoice"),
    (f"{HELPER_PREFIX}product", "product not on the distributor's price list"),
    (f"{HELPER_PREFIX}mapping", "customer has more than one PSA mapping"),
)


def _prepare(accepted: tuple[str, ...]) -> object:
    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        data = frame.copy()
        kind = data["charge_type"].astype("string")
        start = pd.to_datetime(data["charge_start"], errors="coerce", format="ISO8601")
        end = pd.to_datetime(data["charge_end"], errors="coerce", format="ISO8601")
        p_start = pd.to_datetime(data["period_start"], errors="coerce", format="ISO8601")
        p_end = pd.to_datetime(data["period_end"], errors="coerce", format="ISO8601")
        quantity = pd.to_numeric(data["quantity"], errors="coerce")
        seats = kind.isin(SEAT_CHARGE_TYPES).fillna(False)
        usage = (kind == "usage").fillna(False)
        monthly = (data["billing_cycle"].astype("string").fillna("Monthly") == "Monthly") if "billing_cycle" in data \
            else pd.Series(True, index=data.index)

        def reason(mask: pd.Series, text: pd.Series | str) -> pd.Series:
            values = text if isinstance(text, pd.Series) else pd.Series(text, index=data.index)
            return values.astype("string").where(mask.fillna(False).astype(bool))

        data[CHECKS[0][0]] = reason(~kind.isin(CHARGE_TYPES).fillna(False), "charge type " + kind.fillna("missing"))
        data[CHECKS[1][0]] = reason(start.isna() | end.isna() | (end < start),
                                    data["charge_start"].astype("string").fillna("?") + " – "
                                    + data["charge_end"].astype("string").fillna("?"))
        outside = (seats | usage) & ((start < p_start) | (start > p_end) | (monthly & (end > p_end)))
        data[CHECKS[2][0]] = reason(outside, "charge " + data["charge_start"].astype("string").fillna("?") + " – "
                                    + data["charge_end"].astype("string").fillna("?") + ", invoice period "
                                    + data["period_start"].astype("string").fillna("?") + " – "
                                    + data["period_end"].astype("string").fillna("?"))
        fractional = seats & (quantity.round() != quantity)
        negative = (quantity < 0) & ~kind.isin((ADD, REMOVE, CANCEL, CREDIT, ONE_TIME)).fillna(False)
        data[CHECKS[3][0]] = reason(quantity.isna() | fractional | negative,
                                    "quantity " + data["quantity"].astype("string").fillna("missing") + " for "
                                    + kind.fillna("?"))
        data[CHECKS[4][0]] = reason(~data["currency"].astype("string").isin(accepted).fillna(False),
                                    "currency " + data["currency"].astype("string").fillna("missing")
                                    + f" (accepted: {', '.join(accepted)})")
        same_content = [c for c in CONTENT if c in data.columns]
        repeated = data["source_key"].duplicated(keep="first") | (
            (seats | kind.isin((CREDIT,)).fillna(False)) & data.duplicated(same_content, keep="first"))
        data[CHECKS[5][0]] = reason(repeated, "line " + data["source_key"])
        retired = ~data["known_product"].astype("boolean").fillna(False)
        data[CHECKS[6][0]] = reason(retired, "product " + data["sku"].astype("string").fillna("?")
                                    + " (retired?): add it to subscription_billing's service_overrides "
                                    "(SKU → PSA service name), or on the integration's Service overrides page "
                                    "(Mappings), to bill it")
        data[CHECKS[7][0]] = reason(data["mapping_count"].astype("Int64").fillna(0) > 1,
                                    "customer " + data["customer_key"].astype("string")
                                    + " is mapped " + data["mapping_count"].astype("string") + " times")
        return data

    return prepare


def invoice_suite(*, accepted_currencies: list[str] | tuple[str, ...] = ("USD",)) -> Suite:
    critical, blocking = Severity.CRITICAL, Severity.BLOCKING
    parse = Expectation(name="line readable", severity=blocking, gx_type="ExpectColumnValuesToBeNull",
                        kwargs={"column": "parse_error"}, reason="the line could not be read",
                        detail="parse_error", exclusive=True)
    return Suite(name="subscription_billing", key_column="source_key",
                 prepare=_prepare(tuple(accepted_currencies)),  # type: ignore[arg-type]
                 expectations=(
        *(rule(f"column present: {c}", critical, "ExpectColumnToExist", f"column {c} is missing", column=c)
          for c in REQUIRED),
        rule("column type: source_key", critical, "ExpectColumnValuesToBeInTypeList",
             "column source_key has the wrong type", column="source_key", type_list=TEXT_TYPES),
        parse,
        *(rule(text, blocking, "ExpectColumnValuesToBeNull", text, detail=column, column=column)
          for column, text in CHECKS),
        *numbers_storable({"quantity": COUNT_MAX, "unit_price": MONEY_MAX, "unit_cost": MONEY_MAX,
                           "price_total": MONEY_MAX, "cost_total": MONEY_MAX}),
    ))
