"""``channelsync category-map`` and ``channelsync service-override``: the pages' store, rules and audit from
the command line, against the demo integrations file and a real state store (SQLite)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from channelsync.cli.main import main
from channelsync.state import db

ROOT = Path(__file__).resolve().parents[2]
Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture()
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    db.upgrade(url)
    monkeypatch.setenv("CHANNELSYNC_STATE_URL", url)
    monkeypatch.setenv("CHANNELSYNC_CONFIG", str(ROOT / "config" / "integrations.yaml"))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_set_exclude_remove_and_history_of_a_category_mapping(cli: Cli) -> None:
    base = ("--integration", "demo-autotask")
    assert cli("category-map", "set", *base, "PRN", "Printers", "--by", "alice")[:2] == (
        0, "create: category code PRN (applies from the next run; `catalog_sync` preview shows it)\n")
    assert cli("category-map", "exclude", *base, "NBK", "--by", "bob")[0] == 0
    code, out, _ = cli("category-map", "list", *base, "--json")
    listed = {row["key"]: row for row in json.loads(out)}
    assert (listed["PRN"]["effective"], listed["PRN"]["source"]) == ("Printers", "store")
    assert (listed["NBK"]["effective"], listed["NBK"]["source"], listed["NBK"]["file"]) == (
        None, "excluded", "Notebooks")
    assert listed["MON"]["source"] == "file"
    code, out, _ = cli("category-map", "history", *base)
    assert code == 0 and "alice" in out and "exclude" in out
    assert cli("category-map", "remove", *base, "NBK", "--by", "bob")[0] == 0
    code, _, err = cli("category-map", "remove", *base, "NBK", "--by", "bob")
    assert code == 2 and "no category code 'NBK' in the state store" in err
    code, _, err = cli("service-override", "set", *base, "OLD-SKU", " ", "--by", "bob")
    assert code == 2 and "PSA service is required" in err
