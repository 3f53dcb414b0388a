"""Poisoned catalog rows: unparsed flat-file rows, keys too long for the PSA, numbers that are not finite
or not storable, mojibake; and the shared suite machinery they use (row details, exclusive expectations,
``numbers_storable``), also in the P&A suite."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from channelsync.adapters.tdsynnex_catalog import catalog_frame
from channelsync.canonical import CATALOG_ITEM, PNA_ROW, conform
from channelsync.canonical.limits import CONNECTWISE_LIMITS
from channelsync.clients.tdsynnex.flatfile import TdSynnexFlatFileClient
from channelsync.clients.tdsynnex.flatfile_layout import COL, COLUMNS, DELIMITER, ENCODING
from channelsync.quality.catalog import CatalogSuiteOptions, catalog_suite
from channelsync.quality.price_availability import pna_suite
from channelsync.quality.suite import COUNT_MAX, MONEY_MAX, Expectation, Severity, Suite, numbers_storable, validate

OPTIONS = CatalogSuiteOptions.create(currencies=["USD"], mapped_categories=["NBK"], name_max=30, description_max=100)
SUITE = catalog_suite(OPTIONS)


def item(number: int, **values: Any) -> dict[str, Any]:
    row = {
        "source_key": f"tdsynnex:{number}", "distributor": "tdsynnex", "sku": str(number), "mpn": f"MPN-{number}",
        "manufacturer": "HP", "description": f"Notebook {number}", "long_description": "A notebook",
        "category_code": "NBK", "cost": 100.0, "msrp": 150.0, "currency": "USD", "quantity_available": 1,
        "weight": 1.0, "upc": None, "status": "Active", "kind": "hardware", "price_flagged": False,
        "parse_error": None,
    }
    row.update(values)
    return row


def catalog(*rows: dict[str, Any]) -> pd.DataFrame:
    return conform(pd.DataFrame(list(rows)), CATALOG_ITEM, name="catalog")


def quarantined(outcome: Any) -> dict[str, str]:
    items = outcome.quarantine_items()
    return dict(zip(items["source_key"], items["reason"], strict=True))


def warned(outcome: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in outcome.warning_items().itertuples():
        out.setdefault(str(row.source_key), []).append(str(row.reason))
    return out


def test_a_row_that_could_not_be_parsed_is_quarantined_with_that_reason_alone() -> None:
    unparsed = item(2, mpn=None, description=None, category_code=None, cost=None, msrp=None,
                    parse_error="row has 21 cells, expected 70 (line 7)")
    not_a_number = item(3, msrp=None, cost=-1.0, parse_error="msrp 'abc' is not a number (line 8)")
    outcome = validate(catalog(item(1), unparsed, not_a_number), SUITE)
    assert list(outcome.good["sku"]) == ["1"]
    reasons = quarantined(outcome)
    # Not "MPN missing; cost missing; ...": the consequences of an unreadable row would hide its cause.
    assert reasons["tdsynnex:2"] == "row could not be parsed: row has 21 cells, expected 70 (line 7)"
    assert reasons["tdsynnex:3"] == "row could not be parsed: msrp 'abc' is not a number (line 8)"
    assert outcome.quarantined["failed_expectations"].tolist() == [("row parsed",), ("row parsed",)]
    assert "parse_error" in outcome.good.columns and outcome.good["parse_error"].isna().all()


def test_an_unparsed_row_with_the_sku_of_a_good_row_makes_it_a_duplicate() -> None:
    outcome = validate(catalog(item(1), item(1, parse_error="row has 71 cells, expected 70 (line 9)")), SUITE)
    assert outcome.good.empty
    assert sorted(outcome.quarantine_items()["reason"]) == [
        "duplicate SKU", "row could not be parsed: row has 71 cells, expected 70 (line 9)"]


def test_keys_over_the_psa_limit_are_quarantined_never_cut_while_long_text_only_warns() -> None:
    outcome = validate(
        catalog(item(1, mpn="M" * 50), item(2, mpn="M" * 100_000), item(3, sku="3" * 51, source_key="tdsynnex:x"),
                item(4, description="N" * 31)),
        SUITE,
    )
    reasons = quarantined(outcome)
    assert set(reasons) == {"tdsynnex:2", "tdsynnex:x"}
    assert reasons["tdsynnex:2"] == ("key too long for the PSA field: manufacturer part number longer than 50 "
                                     "characters (never truncated)")
    assert reasons["tdsynnex:x"].startswith("key too long for the PSA field: SKU longer than 50")
    assert outcome.good.set_index("sku").loc["1", "mpn"] == "M" * 50
    assert warned(outcome) == {"tdsynnex:4": ["description longer than 30 characters; truncated"]}


def test_key_limits_follow_the_psa() -> None:
    assert (OPTIONS.sku_max, OPTIONS.mpn_max) == (50, 50)  # the default: both PSAs' limit
    from channelsync.templates.catalog_sync.options import CatalogSyncOptions
    from channelsync.templates.catalog_sync.planning import catalog_options, suite_options

    configured = CatalogSyncOptions(category_map={"NBK": "Notebooks"})
    options = suite_options(configured, catalog_options(configured, psa_system="connectwise"))
    assert (options.sku_max, options.mpn_max) == (CONNECTWISE_LIMITS.vendor_sku, CONNECTWISE_LIMITS.mpn)
    short = catalog_suite(CatalogSuiteOptions.create(currencies=["USD"], mapped_categories=["NBK"], name_max=30,
                                                     description_max=100, sku_max=10, mpn_max=5))
    reasons = quarantined(validate(catalog(item(1, mpn="MPN-123")), short))
    assert "longer than 5 characters" in reasons["tdsynnex:1"]


def test_numbers_that_are_not_finite_or_not_storable_are_quarantined_in_any_numeric_column() -> None:
    rows = [
        item(1, msrp=math.inf), item(2, msrp=float("1e401")), item(3, cost=-math.inf), item(4, msrp=2e12),
        item(5, weight=math.inf), item(6, quantity_available=COUNT_MAX + 1), item(7, cost=1e12, msrp=1e12),
        item(8, msrp=None),
    ]
    outcome = validate(catalog(*rows), SUITE)
    reasons = quarantined(outcome)
    assert sorted(outcome.good["sku"]) == ["7", "8"]  # at the bound, and a missing MSRP, pass
    assert reasons["tdsynnex:1"] == "msrp is not a finite number within ±1,000,000,000,000 (more than a PSA can store)"
    assert reasons["tdsynnex:2"] == reasons["tdsynnex:4"] == reasons["tdsynnex:1"]
    assert "cost is not a finite number" in reasons["tdsynnex:3"] and "negative cost" in reasons["tdsynnex:3"]
    assert reasons["tdsynnex:5"].startswith("weight is not a finite number")
    assert reasons["tdsynnex:6"] == ("quantity_available is not a finite number within ±2,147,483,647 "
                                     "(more than a PSA can store)")


def test_mojibake_is_repaired_with_a_warning_saying_what_changed() -> None:
    outcome = validate(
        catalog(
            item(1, description="CafÃ© notebook", manufacturer="SociÃ©tÃ© GÃ©nÃ©rale"),
            item(2, description="Écran Dell® 27", long_description="Câbles et adaptateurs, réseau sans fil"),
            item(3, long_description="x" * 60 + " â€œquotedâ€\x9d"),
        ),
        SUITE,
    )
    good = outcome.good.set_index("sku")
    assert good.loc["1", "description"] == "Café notebook" and good.loc["1", "manufacturer"] == "Société Générale"
    assert good.loc["2", "description"] == "Écran Dell® 27"  # real cp1252 French text is left alone
    assert good.loc["3", "long_description"] == "x" * 60 + " “quoted”"
    warnings = warned(outcome)
    assert "tdsynnex:2" not in warnings
    assert warnings["tdsynnex:1"] == [
        "description was UTF-8 text read as cp1252 (mojibake); repaired: 'CafÃ© notebook' → 'Café notebook'",
        "manufacturer was UTF-8 text read as cp1252 (mojibake); repaired: 'SociÃ©tÃ© GÃ©nÃ©rale' → 'Société Générale'",
    ]
    (long_warning,) = warnings["tdsynnex:3"]
    assert long_warning.endswith("repaired: ...'xxxxxxxxx â€œquotedâ€\\x9d' → ...'xxxxxxxxx “quoted”'")


def test_the_parsed_flat_file_through_the_suite(tmp_path: Path) -> None:
    """Parser → extract adapter → suite: each poisoned row quarantined (or repaired) with its reason."""
    def row(cells: int = COLUMNS, **values: str) -> str:
        cells_ = [""] * COLUMNS
        base = {"status": "A", "manufacturer": "Acme", "price": "10.00", "msrp": "15.00", "category": "NBK",
                "quantity": "1", "weight": "1.0", "description": "Good"}
        cells_[COL["partner"]], cells_[COL["record"]] = "700001", "DTL"
        for name, value in {**base, **values}.items():
            cells_[COL[name]] = value
        return DELIMITER.join(cells_[:cells] + [""] * (cells - COLUMNS))

    lines = [
        "header~" * 69 + "x",
        row(sku="1", mpn="OK-1"),
        row(21, sku="2", mpn="CUT-21"),
        row(59, sku="3", mpn="CUT-59"),
        row(sku="4", mpn="TILDE-71", description="Dock ~ USB-C"),
        row(sku="5", mpn="M" * 100_000),
        row(sku="6", mpn="MSRP-ABC", msrp="abc"),
        row(sku="7", mpn="MSRP-INF", msrp="Infinity"),
        row(sku="8", mpn="MSRP-HUGE", msrp="1e401"),
        row(sku="9", mpn="MSRP-NAN", msrp="NaN"),
    ]
    path = tmp_path / "700001.ap"
    mojibake = row(sku="10", mpn="MOJI", description="Café").encode("utf-8")  # UTF-8 bytes in a cp1252 file
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(ENCODING) + mojibake + b"\r\n")
    frame = catalog_frame(TdSynnexFlatFileClient.iter_items(path), currency="USD", price_flagged=set())
    outcome = validate(frame, SUITE)
    reasons = quarantined(outcome)
    assert reasons == {
        "tdsynnex:2": "row could not be parsed: row has 21 cells, expected 70 (line 3)",
        "tdsynnex:3": "row could not be parsed: row has 59 cells, expected 70 (line 4)",
        "tdsynnex:4": "row could not be parsed: row has 71 cells, expected 70 (line 5)",
        "tdsynnex:5": "key too long for the PSA field: manufacturer part number longer than 50 characters "
                      "(never truncated)",
        "tdsynnex:6": "row could not be parsed: msrp 'abc' is not a number (line 7)",
        "tdsynnex:7": "msrp is not a finite number within ±1,000,000,000,000 (more than a PSA can store)",
        "tdsynnex:8": "msrp is not a finite number within ±1,000,000,000,000 (more than a PSA can store)",
        "tdsynnex:9": "row could not be parsed: msrp 'NaN' is not a number (line 10)",
    }
    assert sorted(outcome.good["sku"], key=int) == ["1", "10"]
    assert outcome.good.set_index("sku").loc["10", "description"] == "Café"
    assert warned(outcome) == {"tdsynnex:10": [
        "description was UTF-8 text read as cp1252 (mojibake); repaired: 'CafÃ©' → 'Café'"]}


def test_detail_and_exclusive_are_generic() -> None:
    suite = Suite(
        name="generic",
        expectations=(
            Expectation("readable", Severity.BLOCKING, "ExpectColumnValuesToBeNull", {"column": "why"},
                        "unreadable", detail="why", exclusive=True),
            Expectation("x present", Severity.BLOCKING, "ExpectColumnValuesToNotBeNull", {"column": "x"}, "x missing"),
            *numbers_storable({"x": 10.0}),
        ),
        key_column="k",
    )
    frame = pd.DataFrame({"k": ["a", "b", "c", "d"], "why": pd.array([None, "cut", None, None], dtype="string"),
                          "x": [1.0, np.nan, np.nan, -np.inf]})
    outcome = validate(frame, suite)
    assert quarantined(outcome) == {"b": "unreadable: cut", "c": "x missing",
                                    "d": "x is not a finite number within ±10 (more than a PSA can store)"}
    assert [e.name for e in numbers_storable({"a": MONEY_MAX, "b": COUNT_MAX})] == [
        "number storable: a", "number storable: b"]


def test_the_pna_suite_refuses_numbers_no_psa_stores() -> None:
    base = {"mpn": None, "description": None, "currency": "USD", "quantity_available": 5, "on_order": 0, "eta": None,
            "status": "Active", "cost": 10.0}
    rows = [{**base, "sku": "1"}, {**base, "sku": "2", "cost": math.inf},
            {**base, "sku": "3", "quantity_available": COUNT_MAX + 1}, {**base, "sku": "4", "cost": 5e12},
            {**base, "sku": "5", "status": "Discontinued", "cost": None, "on_order": -(COUNT_MAX + 5)}]
    frame = conform(pd.DataFrame([{**r, "source_key": f"tdsynnex:{r['sku']}"} for r in rows]), PNA_ROW, name="pna")
    outcome = validate(frame, pna_suite())
    reasons = quarantined(outcome)
    assert list(outcome.valid["sku"]) == ["1"]
    assert reasons["tdsynnex:2"].startswith("cost is not a finite number")
    assert reasons["tdsynnex:3"].startswith("quantity_available is not a finite number")
    assert reasons["tdsynnex:4"].startswith("cost is not a finite number")
    assert reasons["tdsynnex:5"].startswith("on_order is not a finite number")
