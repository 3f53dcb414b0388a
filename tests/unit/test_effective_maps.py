"""The effective map (channelsync.effective_maps): the integrations file's entries overlaid by the state
store's — the store wins, an excluded key is gone even though the file has it, a key without an entry is
the file's — and what the pages say of each key. Pure: no database."""

from __future__ import annotations

from channelsync.effective_maps import explain, overlay
from channelsync.reconcile.pricing import MarkupRule
from channelsync.state.option_maps import Entry
from channelsync.templates.price_availability.planning import rules_by_category

FILE = {"NBK": "Notebooks", "MON": "Monitors", "DOC": "Docking Stations"}


def _entry(key: str, value: str | None, active: bool = True) -> Entry:
    return Entry(key=key, value=value, active=active, updated_by="alice", updated_at="2026-12-01T00:00:00+00:00")


def test_without_entries_the_file_decides() -> None:
    assert overlay(FILE, []) == FILE
    assert [row.source for row in explain(FILE, [])] == ["file", "file", "file"]


def test_the_store_replaces_adds_and_excludes() -> None:
    entries = [_entry("NBK", "Laptops"), _entry("SSD", "Solid State Drives"), _entry("DOC", "Docks", active=False),
               _entry("MON", "Monitors")]
    assert overlay(FILE, entries) == {"NBK": "Laptops", "MON": "Monitors", "SSD": "Solid State Drives"}
    rows = {row.key: row for row in explain(FILE, entries)}
    assert rows["NBK"].source == "store (replaces the file)" and rows["NBK"].file_value == "Notebooks"
    assert rows["SSD"].source == "store" and rows["SSD"].file_value is None
    assert rows["MON"].source == "store"  # the same value as the file's: the store's entry, nothing replaced
    assert (rows["DOC"].source, rows["DOC"].effective) == ("excluded", None)


def test_an_exclusion_without_a_file_entry_or_a_value_removes_nothing_else() -> None:
    assert overlay(FILE, [_entry("XYZ", None, active=False)]) == FILE
    assert overlay({}, [_entry("NBK", None, active=False)]) == {}


def test_price_availability_reads_the_effective_map_in_reverse() -> None:
    """The markup rule of a PSA category follows the codes the effective map files under it."""
    from channelsync.templates.options_common import MarkupRules

    markup = MarkupRules(percent=18, by_category={"NSW": 22})
    effective = overlay({"NBK": "Notebooks", "NSW": "Switches"}, [_entry("NSW", "Network Gear")])
    assert rules_by_category(markup, effective) == {"Network Gear": MarkupRule(percent=22, basis="cost")}
