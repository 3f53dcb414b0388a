"""The catalog suite: canonical CATALOG_ITEM rows before reconcile.

Decisions (documented for the run report and the README):
- Blocking (row quarantined): the distributor record was readable (``parse_error`` missing: a flat-file
  row with the wrong cell count, a numeric cell that is not a number; the row is reported with that
  reason alone, see ``Expectation.exclusive``); SKU present; SKU unique (EVERY occurrence of a duplicated
  SKU goes: which one is right cannot be known); manufacturer part number present; SKU and MPN no longer
  than the PSA field (they are the lookup keys: never truncated, a cut key would match or create the
  wrong product); cost present and ≥ 0; every number finite and storable (:func:`numbers_storable`);
  price (MSRP) ≥ cost unless ``price_flagged`` (a missing MSRP is not checked: nothing to compare);
  currency present and in the configured set; description present; category present and mapped; SKU /
  MPN text valid (no undecodable characters, and no UTF-8 read as cp1252: a key is never repaired).
- Warning (row kept): name (``description``) or long description longer than the PSA allows
  (reconcile truncates); descriptive text (description, long description, manufacturer) that is UTF-8
  read as cp1252 (mojibake such as ``CafÃ©``): repaired with ftfy, the warning says what changed;
  descriptive text containing U+FFFD or control characters, i.e. text that did not decode cleanly:
  cleaned (characters removed), not failed — a product with a slightly garbled description is still
  worth syncing. SKU / MPN are NOT cleaned or repaired: changing an identifier would break matching, so
  bad text there blocks.
- Critical (run stops): no rows; a required column missing or of the wrong type.
``prepare`` strips text, turns empty strings into missing values and upper-cases currencies, so the
rows handed on are the cleaned ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from channelsync.canonical.limits import AUTOTASK_LIMITS
from channelsync.quality.suite import (
    COUNT_MAX,
    HELPER_PREFIX,
    MONEY_MAX,
    Expectation,
    Severity,
    Suite,
    columns_typed,
    numbers_storable,
    rule,
)

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
    "parse_error",
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
# Numeric columns and the largest magnitude a PSA stores (weight is not written; the generic bound).
NUMERIC_BOUNDS = {"cost": MONEY_MAX, "msrp": MONEY_MAX, "weight": MONEY_MAX, "quantity_available": COUNT_MAX}
# Descriptive text repaired when it is mojibake; the helper column holds what was changed.
REPAIRED_COLUMNS = ("description", "long_description", "manufacturer")
REPAIRED = {column: f"{HELPER_PREFIX}repaired_{column}" for column in REPAIRED_COLUMNS}
# UTF-8 read as cp1252: a lead byte (Â..ô) followed by what a continuation byte (0x80-0xBF) decodes to.
# Only text with such a pair is handed to ftfy (which decides): legitimate French text has none.
_CONTINUATIONS = sorted(set(bytes(range(0x80, 0xC0)).decode("cp1252", errors="replace")))
MOJIBAKE = re.compile("[\u00c2-\u00f4][" + "".join(re.escape(c) for c in _CONTINUATIONS) + "]")


@dataclass(frozen=True)
class CatalogSuiteOptions:
    currencies: frozenset[str]  # allowed currency codes (upper case)
    mapped_categories: frozenset[str]  # distributor category codes that have a PSA category
    name_max: int = AUTOTASK_LIMITS.name  # PSA limit for the product name (canonical ``description``)
    description_max: int = AUTOTASK_LIMITS.description  # PSA limit for the long description
    # PSA limits of the key fields (SKU → vendor SKU, MPN); over them the row is quarantined, never cut.
    # The defaults are both PSAs' (Autotask and ConnectWise: 50).
    sku_max: int = AUTOTASK_LIMITS.vendor_sku
    mpn_max: int = AUTOTASK_LIMITS.mpn

    @classmethod
    def create(
        cls,
        *,
        currencies: Iterable[str],
        mapped_categories: Iterable[str],
        name_max: int,
        description_max: int,
        sku_max: int = AUTOTASK_LIMITS.vendor_sku,
        mpn_max: int = AUTOTASK_LIMITS.mpn,
    ) -> CatalogSuiteOptions:
        return cls(
            frozenset(c.strip().upper() for c in currencies),
            frozenset(mapped_categories),
            name_max,
            description_max,
            sku_max,
            mpn_max,
        )


def _shown(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else f"{text[:width]}...")


def _change(before: str, after: str) -> str:
    """``'CafÃ©' → 'Café'``, around the first change when the text is long."""
    common = next((at for at, (b, a) in enumerate(zip(before, after, strict=False)) if b != a),
                  min(len(before), len(after)))
    start = max(0, common - 10)
    lead = "..." if start else ""
    return f"{lead}{_shown(before[start:])} → {lead}{_shown(after[start:])}"


def _repaired(text: pd.Series) -> pd.Series:
    """The ftfy repair of each value that is mojibake; missing where nothing was repaired."""
    out = pd.Series(pd.NA, index=text.index, dtype="string")
    candidates = text.str.contains(MOJIBAKE, na=False).to_numpy(dtype=bool)
    if candidates.any():
        import ftfy  # lazily, like GX: DAG files import this package

        before = text[candidates]
        after = before.map(ftfy.fix_encoding).astype("string")
        changed = (after != before).to_numpy(dtype=bool, na_value=False)
        out[before.index[changed]] = after[changed]
    return out


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
    for column, helper in REPAIRED.items():
        text = data[column].astype("string")
        repaired = _repaired(text)
        at = repaired.notna().to_numpy(dtype=bool)
        details = pd.Series(pd.NA, index=data.index, dtype="string")
        details[at] = [_change(b, a) for b, a in zip(text[at], repaired[at], strict=True)]
        data[helper] = details
    return data


def _repair_text(column: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def fix(rows: pd.DataFrame) -> pd.DataFrame:
        fixed = rows.copy()
        text = fixed[column].astype("string")
        fixed[column] = _repaired(text).fillna(text)
        return fixed

    return fix


def _clean_text(columns: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def fix(rows: pd.DataFrame) -> pd.DataFrame:
        fixed = rows.copy()
        for column in columns:
            fixed[column] = fixed[column].astype("string").str.replace(BAD_TEXT, "", regex=True).str.strip()
        return fixed

    return fix


def catalog_suite(options: CatalogSuiteOptions) -> Suite:
    blocking, warning, critical = Severity.BLOCKING, Severity.WARNING, Severity.CRITICAL
    expectations = [
        rule(
            "catalog not empty",
            critical,
            "ExpectTableRowCountToBeBetween",
            "the extract is empty",
            min_value=1,
        ),
        *columns_typed(REQUIRED_TYPES, severity=critical),
        Expectation(
            name="row parsed",
            severity=blocking,
            gx_type="ExpectColumnValuesToBeNull",
            kwargs={"column": "parse_error"},
            reason="row could not be parsed",
            detail="parse_error",
            exclusive=True,
        ),
        rule("SKU present", blocking, "ExpectColumnValuesToNotBeNull", "SKU missing", column="sku"),
        rule(
            "SKU within PSA limit",
            blocking,
            "ExpectColumnValueLengthsToBeBetween",
            f"key too long for the PSA field: SKU longer than {options.sku_max} characters (never truncated)",
            column="sku",
            max_value=options.sku_max,
        ),
        rule("SKU unique", blocking, "ExpectColumnValuesToBeUnique", "duplicate SKU", column="sku"),
        rule(
            "SKU text valid",
            blocking,
            "ExpectColumnValuesToNotMatchRegex",
            "SKU contains undecodable text",
            column="sku",
            regex=BAD_TEXT,
        ),
        rule(
            "manufacturer part number present",
            blocking,
            "ExpectColumnValuesToNotBeNull",
            "manufacturer part number missing",
            column="mpn",
        ),
        rule(
            "MPN within PSA limit",
            blocking,
            "ExpectColumnValueLengthsToBeBetween",
            "key too long for the PSA field: manufacturer part number longer than "
            f"{options.mpn_max} characters (never truncated)",
            column="mpn",
            max_value=options.mpn_max,
        ),
        rule(
            "MPN text valid",
            blocking,
            "ExpectColumnValuesToNotMatchRegex",
            "manufacturer part number contains undecodable text",
            column="mpn",
            regex=BAD_TEXT,
        ),
        # A key that is UTF-8 read as cp1252 would match nothing (or the wrong product) and keys are never
        # repaired: blocked, like undecodable text.
        *(
            rule(
                f"{label} not mojibake",
                blocking,
                "ExpectColumnValuesToNotMatchRegex",
                f"{name} is UTF-8 text read as cp1252 (mojibake); keys are not repaired",
                column=column,
                regex=MOJIBAKE.pattern,
            )
            for column, label, name in (("sku", "SKU", "SKU"), ("mpn", "MPN", "manufacturer part number"))
        ),
        rule("cost present", blocking, "ExpectColumnValuesToNotBeNull", "cost missing", column="cost"),
        rule(
            "cost not negative",
            blocking,
            "ExpectColumnValuesToBeBetween",
            "negative cost",
            column="cost",
            min_value=0,
        ),
        *numbers_storable(NUMERIC_BOUNDS),
        rule(
            "price not below cost",
            blocking,
            "ExpectColumnPairValuesAToBeGreaterThanB",
            "price (MSRP) below cost and the item is not flagged",
            column_A=PRICE_UNLESS_FLAGGED,
            column_B="cost",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        rule(
            "currency present",
            blocking,
            "ExpectColumnValuesToNotBeNull",
            "currency missing",
            column="currency",
        ),
        rule(
            "currency allowed",
            blocking,
            "ExpectColumnValuesToBeInSet",
            "currency not in the configured set",
            column="currency",
            value_set=sorted(options.currencies),
        ),
        rule(
            "description present",
            blocking,
            "ExpectColumnValuesToNotBeNull",
            "description missing",
            column="description",
        ),
        rule(
            "category present",
            blocking,
            "ExpectColumnValuesToNotBeNull",
            "category missing",
            column="category_code",
        ),
        rule(
            "category mapped",
            blocking,
            "ExpectColumnValuesToBeInSet",
            "category not mapped to a PSA category",
            column="category_code",
            value_set=sorted(options.mapped_categories),
        ),
        rule(
            "name within PSA limit",
            warning,
            "ExpectColumnValueLengthsToBeBetween",
            f"description longer than {options.name_max} characters; truncated",
            column="description",
            max_value=options.name_max,
        ),
        rule(
            "long description within PSA limit",
            warning,
            "ExpectColumnValueLengthsToBeBetween",
            f"long description longer than {options.description_max} characters; truncated",
            column="long_description",
            max_value=options.description_max,
        ),
    ]
    for column, helper in REPAIRED.items():  # before "text valid": U+FFFD is removed from the repaired text
        expectations.append(
            Expectation(
                name=f"text repaired: {column}",
                severity=warning,
                gx_type="ExpectColumnValuesToBeNull",
                kwargs={"column": helper},
                reason=f"{column} was UTF-8 text read as cp1252 (mojibake); repaired",
                fix=_repair_text(column),
                detail=helper,
            )
        )
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
