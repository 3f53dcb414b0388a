"""Flat-file rows that must not be read as they stand: wrong cell counts (never dropped, never read by
position), numeric cells that are not numbers; and what the extract adapter makes of them."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from channelsync.adapters.tdsynnex_catalog import catalog_frame, source_key
from channelsync.clients.tdsynnex.flatfile import TdSynnexFlatFileClient
from channelsync.clients.tdsynnex.flatfile_layout import COL, COLUMNS, DELIMITER, ENCODING

BASE = {"sku": "9910000", "mpn": "MPN-1", "status": "A", "description": "Good row", "manufacturer": "Acme",
        "price": "10.00", "msrp": "15.00", "quantity": "3", "category": "NBK", "weight": "1.5", "upc": "0"}


def _row(cells: int = COLUMNS, **values: str) -> str:
    row = [""] * COLUMNS
    row[COL["partner"]], row[COL["record"]] = "700001", "DTL"
    for name, value in {**BASE, **values}.items():
        row[COL[name]] = value
    return DELIMITER.join(row[:cells] + [""] * (cells - COLUMNS))


def _parse(tmp_path: Path, *lines: str, raw: bytes = b"", **kwargs: Any) -> list[dict[str, Any]]:
    header = DELIMITER.join(["Trading Partner Code", "Detail Record ID", *[""] * (COLUMNS - 2)])
    path = tmp_path / "700001.ap"
    path.write_bytes(("\r\n".join([header, *lines]) + "\r\n").encode(ENCODING) + raw)
    return list(TdSynnexFlatFileClient.iter_items(path, **kwargs))


@pytest.mark.parametrize("cells", [21, 59, 71, 1])
def test_a_row_without_the_layouts_cell_count_is_yielded_unparsed_with_why(tmp_path: Path, cells: int) -> None:
    good, bad = _parse(tmp_path, _row(), _row(cells, sku="9910001"))
    assert good["parse_error"] is None and good["line"] == 2
    assert bad["line"] == 3
    assert bad["parse_error"] == f"row has {cells} cell{'s' if cells > 1 else ''}, expected 70 (line 3)"
    # Nothing is read by position: no shifted description, price or category.
    assert bad["description"] == bad["mpn"] == bad["category_code"] == ""
    assert bad["price"] is bad["msrp"] is bad["quantity"] is None
    assert bad["synnex_sku"] == ("9910001" if cells > COL["sku"] else "")


def test_a_tilde_inside_a_field_shifts_nothing(tmp_path: Path) -> None:
    (item,) = _parse(tmp_path, _row(description="Dock ~ USB-C", sku="9910002"))
    assert item["parse_error"] == "row has 71 cells, expected 70 (line 2)"
    assert item["synnex_sku"] == "9910002" and item["description"] == "" and item["price"] is None


def test_a_shifted_value_at_the_sku_position_is_not_taken_for_a_sku(tmp_path: Path) -> None:
    # A "~" in the MPN (column 2) pushes column 3 (empty) into the SKU's position; a long text is no SKU.
    (shifted,) = _parse(tmp_path, _row(mpn="AB~CD"))
    assert shifted["synnex_sku"] == "" and shifted["parse_error"].startswith("row has 71 cells")
    (text,) = _parse(tmp_path, _row(60, sku="a description with spaces"))
    assert text["synnex_sku"] == ""


def test_unparsed_rows_are_kept_whatever_the_category_filter(tmp_path: Path) -> None:
    items = _parse(tmp_path, _row(category="MON"), _row(21, category="MON"), categories={"NBK"})
    assert [i["parse_error"] for i in items] == ["row has 21 cells, expected 70 (line 3)"]


def test_header_and_blank_lines_are_not_rows(tmp_path: Path) -> None:
    items = _parse(tmp_path, "", _row(), "   ", raw=b"\r\n")
    assert [i["line"] for i in items] == [3]


@pytest.mark.parametrize(
    ("cell", "value", "message"),
    [
        ("msrp", "abc", "msrp 'abc' is not a number"),
        ("msrp", "NaN", "msrp 'NaN' is not a number"),
        ("price", "$10", "price '$10' is not a number"),
        ("weight", "1,5", "weight '1,5' is not a number"),
        ("quantity", "lots", "quantity 'lots' is not a number"),
        ("quantity", "2.5", "quantity '2.5' is not a whole number"),
        ("quantity", "1e401", "quantity '1e401' is not a whole number"),
    ],
)
def test_a_numeric_cell_that_is_not_a_number_is_a_parse_error(
    tmp_path: Path, cell: str, value: str, message: str
) -> None:
    (item,) = _parse(tmp_path, _row(COLUMNS, **{cell: value}))
    assert item["parse_error"] == f"{message} (line 2)"
    assert item["synnex_sku"] == "9910000" and item["description"] == "Good row"  # the rest is read


def test_problems_are_listed_together_and_long_values_shortened(tmp_path: Path) -> None:
    (item,) = _parse(tmp_path, _row(msrp="x" * 1000, price="free"))
    assert item["parse_error"] == f"price 'free' is not a number; msrp '{'x' * 40}...' is not a number (line 2)"


def test_infinite_and_huge_numbers_are_numbers_for_the_suite_to_refuse(tmp_path: Path) -> None:
    inf, huge, big = _parse(tmp_path, _row(msrp="Infinity"), _row(msrp="1e401", sku="2"), _row(msrp="1e13", sku="3"))
    assert inf["parse_error"] is huge["parse_error"] is big["parse_error"] is None
    assert inf["msrp"] == Decimal("Infinity") and huge["msrp"] == Decimal("1e401")
    frame = catalog_frame([inf, huge, big], currency="USD", price_flagged=set())
    assert [math.isinf(v) for v in frame["msrp"]] == [True, True, False]


def test_a_hundred_thousand_character_mpn_is_read_whole(tmp_path: Path) -> None:
    (item,) = _parse(tmp_path, _row(mpn="M" * 100_000))
    assert item["parse_error"] is None and len(item["mpn"]) == 100_000  # the suite refuses it, uncut


def test_adapter_carries_parse_errors_and_keys_every_row(tmp_path: Path) -> None:
    items = _parse(tmp_path, _row(), _row(21, sku="9910003"), _row(71, sku=""), _row(msrp="abc", sku="9910004"),
                   _row(sku="9" * 300))
    frame = catalog_frame(items, currency="USD", price_flagged=set())
    assert list(frame["source_key"][:4]) == ["tdsynnex:9910000", "tdsynnex:9910003", "tdsynnex:line-4",
                                             "tdsynnex:9910004"]
    assert frame["parse_error"].isna().tolist() == [True, False, False, False, True]
    assert frame["msrp"].isna()[4 - 1] and frame["parse_error"][3].startswith("msrp 'abc'")
    long_key = frame["source_key"][4]
    assert len(long_key) < 100 and long_key.startswith("tdsynnex:9999") and frame["sku"][4] == "9" * 300
    assert source_key("9" * 300, 9) == long_key and source_key("9" * 301, 9) != long_key
