"""Category mappings and service overrides in the state store (state/option_maps.py), on SQLite and
PostgreSQL: an entry maps or excludes a key, removing it gives the key back to the file, and every change
— only a change — is audited with who and when, in the one mapping audit the customer mappings use."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from channelsync.effective_maps import effective_map, for_run
from channelsync.state import db
from channelsync.state.mappings import CustomerKey, mapping_history, set_mapping
from channelsync.state.option_maps import (
    CATEGORIES,
    SERVICES,
    MapEntryError,
    MapEntryNotFound,
    entries,
    exclude_entry,
    get_entry,
    history,
    remove_entry,
    set_entry,
)


@pytest.fixture()
def url(state_url: str) -> str:
    db.upgrade(state_url)
    return state_url


def test_a_category_mapping_is_set_changed_excluded_included_and_removed_with_its_history(url: str) -> None:
    assert set_entry(url, CATEGORIES, "i", " NBK ", "Laptops", by="alice") == "create"
    assert set_entry(url, CATEGORIES, "i", "NBK", "Laptops", by="bob") is None  # the same: nothing recorded
    assert set_entry(url, CATEGORIES, "i", "NBK", "Notebooks  Pro", by="bob") == "update"
    assert exclude_entry(url, CATEGORIES, "i", "NBK", by="carol") == "exclude"
    assert exclude_entry(url, CATEGORIES, "i", "NBK", by="carol") is None
    entry = get_entry(url, CATEGORIES, "i", "NBK")
    assert entry is not None and (entry.value, entry.active, entry.maps, entry.updated_by) == (
        "Notebooks Pro", False, False, "carol")  # the value is kept: including it again needs no retyping
    assert set_entry(url, CATEGORIES, "i", "NBK", "Notebooks Pro", by="dave") == "include"
    assert remove_entry(url, CATEGORIES, "i", "NBK", by="erin") == "remove"
    assert get_entry(url, CATEGORIES, "i", "NBK") is None
    rows = history(url, CATEGORIES, "i", "NBK")
    assert [(r["action"], r["changed_by"], r["key"]) for r in rows] == [
        ("create", "alice", "NBK"), ("update", "bob", "NBK"), ("exclude", "carol", "NBK"),
        ("include", "dave", "NBK"), ("remove", "erin", "NBK")]
    assert rows[1]["before"] == {"psa_category": "Laptops", "selected": True}
    assert rows[1]["after"] == {"psa_category": "Notebooks Pro", "selected": True}
    assert rows[-1]["after"] is None and rows[0]["changed_at"].endswith("+00:00")
    with pytest.raises(MapEntryNotFound, match="integrations file alone decides it"):
        remove_entry(url, CATEGORIES, "i", "NBK", by="erin")


def test_a_file_entry_can_be_excluded_without_a_value_of_its_own(url: str) -> None:
    assert exclude_entry(url, SERVICES, "i", "OLD:SKU", by="alice") == "exclude"
    (entry,) = entries(url, SERVICES, "i")
    assert (entry.key, entry.value, entry.active) == ("OLD:SKU", None, False)
    (row,) = history(url, SERVICES, "i")
    assert (row["action"], row["after"]) == ("exclude", {"service_name": None, "enabled": False})


def test_the_maps_keep_to_their_integration_and_kind_and_share_the_audit_with_customers(url: str) -> None:
    set_entry(url, CATEGORIES, "i", "NBK", "Notebooks", by="alice")
    set_entry(url, CATEGORIES, "other", "NBK", "Laptops", by="alice")
    set_entry(url, SERVICES, "i", "NBK", "A service named like a code", by="alice")
    set_mapping(url, "i", CustomerKey("crayon", "4401", "1"), company="1", contract="2", by="alice")
    assert [(e.key, e.value) for e in entries(url, CATEGORIES, "i")] == [("NBK", "Notebooks")]
    assert [e.value for e in entries(url, SERVICES, "i")] == ["A service named like a code"]
    assert [r["key"] for r in history(url, CATEGORIES, "i")] == ["NBK"]
    assert [r["action"] for r in mapping_history(url, "i")] == ["create"]  # only the customer's row


BAD = [("", "Notebooks", "alice", "category code is required"),
       ("NBK", "  ", "alice", "PSA category is required"),
       ("N" * 51, "Notebooks", "alice", "at most 50 characters"),
       ("NB\nK", "Notebooks", "alice", "one line"),
       ("NBK", "x" * 101, "alice", "longer than 100 characters"),
       ("NBK", "Notebooks", " ", "who makes the change is required")]


def test_a_bad_entry_is_refused_and_nothing_is_saved(url: str) -> None:
    for key, value, by, says in BAD:  # one store for every case: each upgrade costs seconds
        with pytest.raises(MapEntryError, match=says):
            set_entry(url, CATEGORIES, "i", key, value, by=by)
    assert entries(url, CATEGORIES, "i") == [] and history(url, CATEGORIES, "i") == []


def test_a_run_uses_the_map_its_extract_read_whatever_is_saved_meanwhile(url: str, tmp_path: Path) -> None:
    """The extract reads the effective map and stages it; the later stages (other tasks, retries) use the
    staged map, so an edit made during a run applies from the next run."""
    run = SimpleNamespace(staging=tmp_path, state_url=url, integration=SimpleNamespace(name="i"))
    set_entry(url, CATEGORIES, "i", "NBK", "Laptops", by="alice")
    extracted = for_run(run, CATEGORIES, {"NBK": "Notebooks", "MON": "Monitors"}, refresh=True)  # type: ignore[arg-type]
    assert extracted == {"NBK": "Laptops", "MON": "Monitors"}
    assert effective_map(url, CATEGORIES, "i", {"NBK": "Notebooks"}) == {"NBK": "Laptops"}
    exclude_entry(url, CATEGORIES, "i", "MON", by="bob")
    assert for_run(run, CATEGORIES, {"NBK": "Notebooks", "MON": "Monitors"}) == extracted  # type: ignore[arg-type]
    assert for_run(run, CATEGORIES, {"NBK": "Notebooks", "MON": "Monitors"}, refresh=True) == {  # type: ignore[arg-type]
        "NBK": "Laptops"}
