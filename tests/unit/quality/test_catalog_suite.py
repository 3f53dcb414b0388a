"""The catalog suite run by Great Expectations: quarantine, warnings, whole-suite failures."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from channelsync.canonical import CATALOG_ITEM, conform, empty
from channelsync.canonical.limits import CONNECTWISE_LIMITS
from channelsync.quality.catalog import CatalogSuiteOptions, catalog_suite
from channelsync.quality.suite import SuiteFailed, validate

OPTIONS = CatalogSuiteOptions.create(
    currencies=["USD", "eur"], mapped_categories=["NB"], name_max=30, description_max=100
)
SUITE = catalog_suite(OPTIONS)


def item(number: int, **values: Any) -> dict[str, Any]:
    row = {
        "source_key": f"tdsynnex:{number}",
        "distributor": "tdsynnex",
        "sku": str(number),
        "mpn": f"MPN-{number}",
        "manufacturer": "HP",
        "description": f"Notebook {number}",
        "long_description": "A notebook",
        "category_code": "NB",
        "cost": 100.0,
        "msrp": 150.0,
        "currency": "USD",
        "quantity_available": 1,
        "weight": 1.0,
        "upc": None,
        "status": "Active",
        "kind": "hardware",
        "price_flagged": False,
        "parse_error": None,
    }
    row.update(values)
    return row


def catalog(*rows: dict[str, Any]) -> pd.DataFrame:
    return conform(pd.DataFrame(list(rows)), CATALOG_ITEM, name="catalog")


def reasons(outcome) -> dict[str, tuple[str, ...]]:  # type: ignore[no-untyped-def]
    return dict(zip(outcome.quarantined["source_key"], outcome.quarantined["reasons"], strict=True))


def test_clean_catalog_passes_untouched() -> None:
    data = catalog(item(1), item(2))
    outcome = validate(data, SUITE)
    assert outcome.counts == {"total": 2, "good": 2, "quarantined": 0, "warned_rows": 0}
    assert not outcome.has_warnings
    assert list(outcome.good.columns) == list(CATALOG_ITEM)  # helper columns dropped
    assert outcome.results["success"].all()


def test_every_bad_row_is_quarantined_with_its_reason() -> None:
    data = catalog(
        item(1),
        item(2, sku="DUP", source_key="tdsynnex:2"),
        item(3, sku="DUP", source_key="tdsynnex:3"),
        item(4, cost=-1.0),
        item(5, msrp=50.0),
        item(6, msrp=50.0, price_flagged=True),  # flagged: allowed below cost
        item(7, currency="JPY"),
        item(8, category_code=None),
        item(9, category_code="ZZ"),
        item(10, mpn="   "),
        item(11, description=""),
        item(12, cost=-5.0, currency="GBP"),
        item(13, sku="AB\ufffdC"),
        item(14, msrp=None),  # no MSRP: nothing to compare
    )
    outcome = validate(data, SUITE)
    assert reasons(outcome) == {
        "tdsynnex:2": ("duplicate SKU",),
        "tdsynnex:3": ("duplicate SKU",),
        "tdsynnex:4": ("negative cost",),
        "tdsynnex:5": ("price (MSRP) below cost and the item is not flagged",),
        "tdsynnex:7": ("currency not in the configured set",),
        "tdsynnex:8": ("category missing",),
        "tdsynnex:9": ("category not mapped to a PSA category",),
        "tdsynnex:10": ("manufacturer part number missing",),
        "tdsynnex:11": ("description missing",),
        "tdsynnex:12": ("negative cost", "currency not in the configured set"),
        "tdsynnex:13": ("SKU contains undecodable text",),
    }
    assert outcome.quarantined.loc[11, "failed_expectations"] == ("cost not negative", "currency allowed")
    assert outcome.quarantined.loc[11, "quarantine_reason"] == "negative cost; currency not in the configured set"
    assert sorted(outcome.good["source_key"]) == ["tdsynnex:1", "tdsynnex:14", "tdsynnex:6"]
    items = outcome.quarantine_items()
    assert len(items) == 11 and set(items["error_code"]) == {"QUALITY_ROW_QUARANTINED"}
    assert items.loc[items["source_key"] == "tdsynnex:4", "reason"].tolist() == ["negative cost"]
    assert outcome.valid is outcome.good


def test_long_and_garbled_text_is_a_warning_and_the_row_is_kept_and_cleaned() -> None:
    data = catalog(
        item(1, description="x" * 31),
        item(2, long_description="y" * 10_000),
        item(3, long_description="caf\ufffd au lait\x00", manufacturer="H\x07P"),
        item(4, currency=" eur "),
    )
    data.index = [10, 11, 12, 13]  # the caller's index is kept
    outcome = validate(data, SUITE)
    assert outcome.counts["quarantined"] == 0 and outcome.has_warnings
    assert outcome.warning_counts == {
        "name within PSA limit": 1,
        "long description within PSA limit": 1,
        "text valid: long_description": 1,
        "text valid: manufacturer": 1,
    }
    assert outcome.warnings.loc[outcome.warnings["key"] == "tdsynnex:1", "row"].tolist() == [10]
    assert sorted(outcome.warning_items()["source_key"]) == ["tdsynnex:1", "tdsynnex:2", "tdsynnex:3", "tdsynnex:3"]
    assert outcome.good.loc[12, "long_description"] == "caf au lait"
    assert outcome.good.loc[12, "manufacturer"] == "HP"
    assert outcome.good.loc[11, "long_description"] == "y" * 10_000  # reconcile truncates, not the suite
    assert outcome.good.loc[13, "currency"] == "EUR"


def test_empty_extract_fails_the_suite() -> None:
    with pytest.raises(SuiteFailed) as failed:
        validate(empty(CATALOG_ITEM), SUITE)
    assert "catalog not empty" in str(failed.value) and failed.value.code == "QUALITY_SUITE_FAILED"


def test_missing_column_and_wrong_type_fail_the_suite_listing_them() -> None:
    broken = catalog(item(1)).drop(columns=["mpn"])
    broken["cost"] = broken["cost"].astype(str)
    with pytest.raises(SuiteFailed) as failed:
        validate(broken, SUITE)
    names = [name for name, _ in failed.value.failures]
    assert "column present: mpn" in names and "column type: cost" in names
    assert "column type: sku" not in names


def test_options_follow_the_reconcile_options() -> None:
    from channelsync.templates.catalog_sync.options import CatalogSyncOptions
    from channelsync.templates.catalog_sync.planning import catalog_options
    from channelsync.templates.catalog_sync.planning import suite_options as template_suite_options

    options = CatalogSyncOptions(category_map={"NB": "Notebooks"},
                                 currency={"target": "USD", "accepted": ["USD", "EUR", "GBP"], "rates": {"EUR": 1.1}})
    suite_options = template_suite_options(options, catalog_options(options, psa_system="connectwise"))
    assert suite_options.currencies == frozenset({"USD", "EUR"})  # GBP is accepted but has no rate
    assert suite_options.mapped_categories == frozenset({"NB"})
    assert (suite_options.name_max, suite_options.description_max) == (CONNECTWISE_LIMITS.name, 6000)
