"""Flat file: download over the FTP stand-in, streaming parse, cp1252 bytes, 100,000 rows, categories."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from channelsync.clients.tdsynnex.flatfile import TdSynnexFlatFileClient
from channelsync.errors import FatalApiError
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.tdsynnex.catalog import product_records
from channelsync.sandbox.tdsynnex.flatfile import render_rows
from channelsync.sandbox.world import CATEGORIES, World


def test_download_and_parse_match_the_world(flat: TdSynnexFlatFileClient, sandbox: SandboxControl,
                                            tmp_path: Path) -> None:
    path = flat.download(tmp_path)
    assert path.name == "700001.ap" and not list(tmp_path.glob(".flat-*"))
    items = list(flat.iter_items(path))
    world = World("small", 42).hardware
    assert len(items) == len(world) == 500
    first = items[0]
    assert first["synnex_sku"] == world[0].synnex_sku and first["mpn"] == world[0].mpn
    assert first["price"] == world[0].cost and first["msrp"] == world[0].msrp
    assert first["quantity"] == sum(q for _, q in world[0].warehouse_qty)
    assert first["warehouse_qty"] == {w: dict(world[0].warehouse_qty).get(w, 0) for w in ("3", "11", "23", "29", "7")}
    # cp1252: the French descriptions carry accents and the ® sign, decoded correctly (not UTF-8 garbage)
    assert any("é" in item["description_fr"] for item in items)
    assert all("®" in item["description_fr"] for item in items)
    assert b"\xae" in path.read_bytes() and "®".encode() not in path.read_bytes()
    assert [e["path"] for e in sandbox.requests("tdsynnex")] == ["/ftp/c700001.zip"]


def test_category_filter_and_category_list(flat: TdSynnexFlatFileClient, tmp_path: Path) -> None:
    assert flat.categories() == dict(CATEGORIES)
    path = flat.download(tmp_path)
    notebooks = list(flat.iter_items(path, categories={"NBK"}))
    assert notebooks and {i["category_code"] for i in notebooks} == {"NBK"}


def test_direct_edit_shows_in_next_file(flat: TdSynnexFlatFileClient, sandbox: SandboxControl, tmp_path: Path) -> None:
    sku = World("small", 42).hardware[3].synnex_sku
    sandbox.edit_record("tdsynnex", "products", sku, {"price": "1.23", "status": "Discontinued"})
    items = {i["synnex_sku"]: i for i in flat.iter_items(flat.download(tmp_path))}
    assert str(items[sku]["price"]) == "1.23" and items[sku]["status"] == "Discontinued"


def test_bad_login_is_refused_and_password_never_logged(sandbox: SandboxControl, sandbox_server: object,
                                                        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = TdSynnexFlatFileClient(base_url=f"{sandbox_server.url}/tdsynnex/ftp",  # type: ignore[attr-defined]
                                    customer_number="700001", username="reseller@msp.example",
                                    password="wrong-secret-pw")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(FatalApiError) as info:
        client.download(tmp_path)
    assert info.value.status == 401
    assert "wrong-secret-pw" not in str(info.value) + caplog.text + repr(client)


def test_undecodable_bytes_and_short_lines_do_not_break_parsing(tmp_path: Path) -> None:
    path = tmp_path / "x.ap"
    rows = product_records(World("tiny", 1))[:2]
    data = render_rows("700001", rows).encode("cp1252") + b"garbage line without fields\r\n\r\n"
    data = data.replace(rows[0]["description"].encode(), b"BAD\x81BYTE")  # 0x81 is undefined in cp1252
    path.write_bytes(data)
    items = list(TdSynnexFlatFileClient.iter_items(path))
    assert len(items) == 3 and items[0]["description"] == "BAD\ufffdBYTE" and items[0]["parse_error"] is None
    # The short line is not dropped: it comes back unparsed, with why (the blank line after it is no row).
    assert items[2]["parse_error"] == "row has 1 cell, expected 70 (line 4)" and items[2]["synnex_sku"] == ""


def test_hundred_thousand_rows_stream(tmp_path: Path) -> None:
    """100,000 rows (the large world) parse in one streaming pass; time is printed, not asserted."""
    records = product_records(World("large", 42))
    path = tmp_path / "700001.ap"
    path.write_bytes(render_rows("700001", records).encode("cp1252"))
    started = time.perf_counter()
    count = sum(1 for _ in TdSynnexFlatFileClient.iter_items(path))
    print(f"parsed {count} rows in {time.perf_counter() - started:.2f}s")
    assert count == 100_000
