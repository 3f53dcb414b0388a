"""The catalog suite: canonical CATALOG_ITEM rows before reconcile.

Decisions (documented for the run report and the README):
- Blocking (row quarantined): SKU present; SKU unique (EVERY occurrence of a duplicated SKU goes: which
  one is right cannot be known); manufacturer part number present; cost present and ≥ 0; price (MSRP)
  ≥ cost unless ``price_flagged`` (a missing MSRP is not checked: nothing to compare); currency present
  and in the configured set; description present; category present and mapped; SKU / MPN text valid.
- Warning (row kept): name (``description``) or long description longer than the PSA allows
  (reconcile truncates); descriptive text (description, long description, manufacturer) containing
  U+FFFD or control characters, i.e. text that did not decode cleanly: cleaned (characters removed), not
  failed — a product with a slightly garbled description is still worth syncing. SKU / MPN are NOT
  cleaned: changing an identifier would break matching, so bad text there blocks.
- Critical (run stops): no rows; a required column missing or of the wrong type.
``prepare`` strips text, turns empty strings into missing values and upper-cases currencies, so the
rows handed on are the cleaned ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from channelsync.canonical.limits import AUTOTASK_LIMITS
from channelsync.quality.suite import HELPER_PREFIX, Expectation, Severity, Suite

if TYPE_CHECKING:
    from channelsync.reconcile.catalog import CatalogOptions

# Type names as GX reports them for pandas columns (it says "str" for the string dtypes, "int64" for Int64).
TEXT_TYPES = ["str", "string", "object", "StringDtype", "large_string"]
NUMBER_TYPES = ["float64", "float32", "Float64", "Float32", "int64", "int32", "Int64", "Int32", "double"]
FLAG_TYPES = ["bool", "boolean", "BooleanDtype"]

TEXT_COLUMNS = (
    "source_key",
    "sku",
    "mpn",
    "manufacturer",
    "description",
    "long_description",
    "category_code",
    "currency",
    "status",
)
REQUIRED_TYPES = {
    **{column: TEXT_TYPES for column in TEXT_COLUMNS},
    "cost": NUMBER_TYPES,
    "msrp": NUMBER_TYPES,
    "price_flagged": FLAG_TYPES,
}
# Replacement character (what undecodable bytes become) and C0 controls other than tab/newline/CR.
BAD_TEXT = "[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
PRICE_UNLESS_FLAGGED = f"{HELPER_PREFIX}price_unless_flagged"


@dataclass(frozen=True)
class CatalogSuiteOptions:
    currencies: frozenset[str]  # allowed currency codes (upper case)
    mapped_categories: frozenset[str]  # distributor category codes that have a PSA category
    name_max: int = AUTOTASK_LIMITS.name  # PSA limit for the product name (canonical ``description``)
    description_max: int = AUTOTASK_LIMITS.description  # PSA limit for the long description

    @classmethod
    def create(
        cls,
        *,
        currencies: Iterable[str],
        mapped_categories: Iterable[str],
        name_max: int,
        description_max: int,
    ) -> CatalogSuiteOptions:
        return cls(
            frozenset(c.strip().upper() for c in currencies),
            frozenset(mapped_categories),
            name_max,
            description_max,
        )

    @classmethod
    def from_catalog_options(cls, options: CatalogOptions) -> CatalogSuiteOptions:
        """The same numbers reconcile uses: currencies with a rate, mapped categories, the PSA's limits."""
        return cls.create(
            currencies=[options.target_currency, *options.currency_rates],
            mapped_categories=options.category_map,
            name_max=options.limits.name,
            description_max=options.limits.description,
        )


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    data = frame.copy()
    for column in TEXT_COLUMNS:
        text = data[column].astype("string").str.strip()
        data[column] = text.mask(text == "")
    data["currency"] = data["currency"].str.upper()
    # GX compares column pairs per row but has no "unless flagged": blank the price of flagged rows so
    # the pair expectation (which ignores rows with a missing value) skips them.
    flagged = data["price_flagged"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    data[PRICE_UNLESS_FLAGGED] = np.where(
        flagged, np.nan, pd.to_numeric(data["msrp"]).to_numpy(dtype="float64", na_value=np.nan)
    )
    return data


def _clean_text(columns: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def fix(rows: pd.DataFrame) -> pd.DataFrame:
        fixed = rows.copy()
        for column in columns:
            fixed[column] = fixed[column].astype("string").str.replace(BAD_TEXT, "", regex=True).str.strip()
        return fixed

    return fix


def _row(name: str, severity: Severity, gx_type: str, reason: str, **kwargs: object) -> Expectation:
    return Expectation(name=name, severity=severity, gx_type=gx_type, kwargs=kwargs, reason=reason)


def catalog_suite(options: CatalogSuiteOptions) -> Suite:
    blocking, warning, critical = Severity.BLOCKING, Severity.WARNING, Severity.CRITICAL
    expectations = [
        _row(
            "catalog not empty",
            critical,
            "ExpectTableRowCountToBeBetween",
            "the extract is empty",
            min_value=1,
        ),
        *(
            _row(
                f"column present: {column}",
                critical,
                "ExpectColumnToExist",
                f"column {column} is missing",
                column=column,
            )
            for column in REQUIRED_TYPES
        ),
        *(
            _row(
                f"column type: {column}",
                critical,
                "ExpectColumnValuesToBeInTypeList",
                f"column {column} has the wrong type",
                column=column,
                type_list=types,
            )
            for column, types in REQUIRED_TYPES.items()
        ),
        _row("SKU present", blocking, "ExpectColumnValuesToNotBeNull", "SKU missing", column="sku"),
        _row("SKU unique", blocking, "ExpectColumnValuesToBeUnique", "duplicate SKU", column="sku"),
        _row(
            "SKU text valid",
            blocking,
            "ExpectColumnValuesToNotMatchRegex",
            "SKU contains undecodable text",
            column="sku",
            regex=BAD_TEXT,
        ),
        _row(
            "manufacturer part number present",
            blocking,
            "ExpectColumnValuesToNotBeNull",
            "manufacturer part number missing",
            column="mpn",
        ),
        _row(
            "MPN text valid",
            blocking,
            "ExpectColumnValuesToNotMatchRegex",
            "manufacturer part number contains undecodable text",
            column="mpn",
            regex=BAD_TEXT,
        ),
        _row("cost present", blocking, "ExpectColumnValuesToNotBeNull", "cost missing", column="cost"),
        _row(
            "cost not negative",
            blocking,
            "ExpectColumnValuesToBeBetween",
            "negative cost",
            column="cost",
            min_value=0,
        ),
        _row(
            "price not below cost",
            blocking,
            "ExpectColumnPairValuesAToBeGreaterThanB",
            "price (MSRP) below cost and the item is not flagged",
            column_A=PRICE_UNLESS_FLAGGED,
            column_B="cost",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        _row(
            "currency present",
            blocking,
            "ExpectColumnValuesToNotBeNull",
            "currency missing",
            column="currency",
        ),
        _row(
            "currency allowed",
            blocking,
            "ExpectColumnValuesToBeInSet",
            "currency not in the configured set",
            column="currency",
            value_set=sorted(options.currencies),
        ),
        _row(
            "description present",
            blocking,
            "ExpectColumnValuesToNotBeNull",
            "description missing",
            column="description",
        ),
        _row(
            "category present",
            blocking,
            "ExpectColumnValuesToNotBeNull",
            "category missing",
            column="category_code",
        ),
        _row(
            "category mapped",
            blocking,
            "ExpectColumnValuesToBeInSet",
            "category not mapped to a PSA category",
            column="category_code",
            value_set=sorted(options.mapped_categories),
        ),
        _row(
            "name within PSA limit",
            warning,
            "ExpectColumnValueLengthsToBeBetween",
            f"description longer than {options.name_max} characters; truncated",
            column="description",
            max_value=options.name_max,
        ),
        _row(
            "long description within PSA limit",
            warning,
            "ExpectColumnValueLengthsToBeBetween",
            f"long description longer than {options.description_max} characters; truncated",
            column="long_description",
            max_value=options.description_max,
        ),
    ]
    for column in ("description", "long_description", "manufacturer"):
        expectations.append(
            Expectation(
                name=f"text valid: {column}",
                severity=warning,
                gx_type="ExpectColumnValuesToNotMatchRegex",
                kwargs={"column": column, "regex": BAD_TEXT},
                reason=f"{column} had undecodable characters; removed",
                fix=_clean_text((column,)),
            )
        )
    return Suite(name="catalog", expectations=tuple(expectations), prepare=_prepare, key_column="source_key")
