"""The price-list suite: canonical ``CSP_PRODUCT`` rows before service_catalog_sync plans them.

- Critical (the run stops, nothing is written): no rows (only in mode ``all``: a price list is never empty,
  while no product in use is a normal answer); a required column missing or of the wrong type.
- Blocking (the row is quarantined): the distributor's record was readable (``parse_error`` missing; reported
  alone); SKU present, unique per distributor (every occurrence of a repeated key goes: which is right cannot
  be known) and short enough that ``PC_`` + SKU fits the PSA's service name (a name is a key: never cut);
  buy price and RRP present, not negative and storable (Autotask requires a unit price); currency present and
  one the PSA bills in; billing cycle one channelsync knows.
- Warning (the row is kept): RRP below the buy price — the service would sell at a loss (the price-change
  report shows the margin too).

Long descriptions are not a suite matter: the planner cuts them on the create that writes them, and that
create carries the warning (after the first sync descriptions are never written again).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from channelsync.canonical.billing import BILLING_CYCLES, SERVICE_NAME_PREFIX
from channelsync.quality.catalog import FLAG_TYPES, NUMBER_TYPES, TEXT_TYPES
from channelsync.quality.suite import MONEY_MAX, Expectation, Severity, Suite, columns_typed, numbers_storable, rule

REQUIRED_TYPES = {
    **{column: TEXT_TYPES for column in ("source_key", "distributor", "sku", "name", "description", "currency",
                                         "billing_cycle", "parse_error")},
    "unit_cost": NUMBER_TYPES,
    "unit_price": NUMBER_TYPES,
    "usage": FLAG_TYPES,
}


@dataclass(frozen=True)
class ServiceSuiteOptions:
    currencies: frozenset[str]  # what the PSA bills in (upper case)
    name_max: int  # the PSA's service name length: ``PC_`` + SKU must fit
    require_rows: bool = True  # mode ``all``: an empty price list stops the run

    @classmethod
    def create(cls, *, currencies: Iterable[str], name_max: int, require_rows: bool) -> ServiceSuiteOptions:
        return cls(frozenset(c.strip().upper() for c in currencies), name_max, require_rows)


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    data = frame.copy()
    for column in ("sku", "name", "description", "currency", "billing_cycle", "parse_error"):
        text = data[column].astype("string").str.strip()
        data[column] = text.mask(text == "")
    data["currency"] = data["currency"].str.upper()
    return data


def service_suite(options: ServiceSuiteOptions) -> Suite:
    blocking, warning, critical = Severity.BLOCKING, Severity.WARNING, Severity.CRITICAL
    sku_max = options.name_max - len(SERVICE_NAME_PREFIX)
    expectations: list[Expectation] = [
        *([rule("price list not empty", critical, "ExpectTableRowCountToBeBetween",
                "the distributor's price list is empty", min_value=1)] if options.require_rows else []),
        *columns_typed(REQUIRED_TYPES, severity=critical),
        Expectation(name="row parsed", severity=blocking, gx_type="ExpectColumnValuesToBeNull",
                    kwargs={"column": "parse_error"}, reason="the distributor's record could not be read",
                    detail="parse_error", exclusive=True),
        rule("SKU present", blocking, "ExpectColumnValuesToNotBeNull", "SKU missing", column="sku"),
        rule("SKU unique", blocking, "ExpectColumnValuesToBeUnique", "the SKU is on the price list more than once",
             column="source_key"),
        rule("service name within PSA limit", blocking, "ExpectColumnValueLengthsToBeBetween",
             f"SKU longer than {sku_max} characters: {SERVICE_NAME_PREFIX!r} + SKU would not fit the PSA's "
             f"{options.name_max}-character service name (never cut)", column="sku", max_value=sku_max),
        rule("buy price present", blocking, "ExpectColumnValuesToNotBeNull", "no buy price (unit cost)",
             column="unit_cost"),
        rule("RRP present", blocking, "ExpectColumnValuesToNotBeNull", "no recommended retail price (unit price)",
             column="unit_price"),
        rule("buy price not negative", blocking, "ExpectColumnValuesToBeBetween", "negative buy price",
             column="unit_cost", min_value=0),
        rule("RRP not negative", blocking, "ExpectColumnValuesToBeBetween", "negative recommended retail price",
             column="unit_price", min_value=0),
        *numbers_storable({"unit_cost": MONEY_MAX, "unit_price": MONEY_MAX}),
        rule("currency present", blocking, "ExpectColumnValuesToNotBeNull", "currency missing", column="currency"),
        rule("currency accepted", blocking, "ExpectColumnValuesToBeInSet",
             f"currency is not one the PSA bills in ({', '.join(sorted(options.currencies))})", column="currency",
             value_set=sorted(options.currencies)),
        rule("billing cycle known", blocking, "ExpectColumnValuesToBeInSet",
             f"billing cycle is not one of {', '.join(BILLING_CYCLES)}", column="billing_cycle",
             value_set=list(BILLING_CYCLES)),
        rule("RRP not below buy price", warning, "ExpectColumnPairValuesAToBeGreaterThanB",
             "the recommended retail price is below the buy price: the service sells at a loss",
             column_A="unit_price", column_B="unit_cost", or_equal=True, ignore_row_if="either_value_is_missing"),
    ]
    return Suite(name="csp_price_list", expectations=tuple(expectations), prepare=_prepare, key_column="source_key")
