"""build_catalog_plan: matching, ops, conflicts, deactivation, guards, keys."""

from __future__ import annotations

import pandas as pd
import pytest

from channelsync.canonical import PLAN
from channelsync.canonical.limits import CONNECTWISE_FIELDS, CONNECTWISE_LIMITS, CONNECTWISE_MAX_PRODUCTS
from channelsync.reconcile.catalog import CatalogOptions, build_catalog_plan
from channelsync.reconcile.fingerprint import fingerprint_record
from channelsync.reconcile.guards import CrossReferenceMismatch, MassDeactivationRefused, ProductLimitExceeded

from ._data import OPTIONS, catalog, item, no_xref, psa_frame, psa_product, synced


def ops(plan) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(zip(plan.frame["source_key"], plan.frame["op"], strict=True))


def row(plan, source_key: str) -> pd.Series:  # type: ignore[no-untyped-def]
    rows = plan.frame[plan.frame["source_key"] == source_key]
    assert len(rows) == 1
    return rows.iloc[0]


def test_first_sync_creates_every_item_with_desired_fields() -> None:
    items = catalog(item(1), item(2, currency="EUR", cost=10.0, msrp=20.0, category_code="MON"))
    plan = build_catalog_plan(items, psa_frame(), no_xref(), OPTIONS)
    assert list(plan.frame.columns) == list(PLAN)
    assert plan.counts["create"] == 2 and plan.write_count == 2
    euro = row(plan, "tdsynnex:2")
    assert euro["desired_unit_cost"] == 11.0  # 10 EUR × 1.1
    assert euro["desired_unit_price"] == 13.2  # + 20 %
    assert euro["desired_msrp"] == 22.0
    assert euro["desired_category"] == "Monitors"
    assert euro["desired_vendor_sku"] == "2" and euro["desired_mpn"] == "MPN-2"
    assert bool(euro["desired_active"]) is True
    assert euro["idempotency_key"] == "acme-at:create:tdsynnex:2:new"
    assert set(euro["changed_fields"]) == set(OPTIONS.fields)
    created = list(plan.operations())
    assert [op.op for op in created] == ["create", "create"]
    assert created[1].fingerprint == fingerprint_record(created[1].fields, OPTIONS.fields)
    assert plan.fingerprints().notna().all()


def test_second_sync_with_nothing_changed_plans_no_writes() -> None:
    items = catalog(*(item(n) for n in range(1, 6)))
    psa, xref = synced(items)
    plan = build_catalog_plan(items, psa, xref, OPTIONS)
    assert plan.write_count == 0
    assert plan.counts["unchanged"] == 5
    assert not plan.frame["save_xref"].any()
    assert plan.frame["idempotency_key"].isna().all()
    assert list(plan.operations()) == []


def test_price_change_updates_only_the_changed_fields_with_a_diff() -> None:
    items = catalog(item(1), item(2))
    psa, xref = synced(items)
    moved = catalog(item(1, cost=110.0), item(2))
    plan = build_catalog_plan(moved, psa, xref, OPTIONS)
    assert ops(plan) == {"tdsynnex:1": "update", "tdsynnex:2": "unchanged"}
    update = next(plan.operations())
    assert update.changed_fields == ["unit_cost", "unit_price"] and update.scope == "run"
    assert update.before == {"unit_cost": 100.0, "unit_price": 120.0}
    assert update.fields["unit_cost"] == 110.0 and update.fields["unit_price"] == 132.0
    assert update.target_id == "100"
    assert (row(plan, "tdsynnex:1")["match"], bool(row(plan, "tdsynnex:1")["link"])) == ("xref", False)
    diff = plan.diff_rows(limit=10)
    assert diff[["source_key", "op", "field", "before", "after"]].values.tolist() == [
        ["tdsynnex:1", "update", "unit_cost", "100.0", "110.0"],
        ["tdsynnex:1", "update", "unit_price", "120.0", "132.0"],
    ]
    assert len(plan.diff_rows(limit=1)) == 1


def test_hand_edit_is_a_conflict_unless_the_distributor_wins() -> None:
    items = catalog(item(1), item(2))
    psa, xref = synced(items)
    psa.loc[0, "name"] = "Renamed by a person"
    plan = build_catalog_plan(items, psa, xref, OPTIONS)
    conflict = row(plan, "tdsynnex:1")
    assert conflict["op"] == "conflict" and pd.isna(conflict["idempotency_key"])
    assert conflict["changed_fields"] == ("name",)
    assert "changed in the PSA" in conflict["reason"]
    assert plan.write_count == 0
    wins = build_catalog_plan(items, psa, xref, OPTIONS.with_overrides(distributor_wins=True))
    update = row(wins, "tdsynnex:1")
    assert update["op"] == "update" and update["desired_name"] == "Notebook 1"
    assert "distributor wins" in update["reason"]


def test_hand_edit_equal_to_desired_is_unchanged_and_refreshes_the_xref_fingerprint() -> None:
    items = catalog(item(1))
    psa, xref = synced(items)
    xref.loc[0, "fingerprint"] = "0" * 64  # what we wrote last time differs from what is there now
    plan = build_catalog_plan(items, psa, xref, OPTIONS)
    unchanged = row(plan, "tdsynnex:1")
    assert unchanged["op"] == "unchanged" and bool(unchanged["save_xref"])
    assert plan.xref_only()["psa_id"].tolist() == ["100"]


def test_hand_made_products_are_linked_by_vendor_sku_then_mpn_not_duplicated() -> None:
    items = catalog(item(1), item(2), item(3))
    psa = psa_frame(
        psa_product("7", vendor_sku=" 1 "),  # vendor SKU match (stripped)
        psa_product("8", mpn="mpn-2"),  # MPN match, case-insensitive
        psa_product("9", mpn="MPN-1"),  # would match item 1 by MPN, but vendor SKU wins first
    )
    plan = build_catalog_plan(items, psa, no_xref(), OPTIONS)
    first, second = row(plan, "tdsynnex:1"), row(plan, "tdsynnex:2")
    assert (first["op"], first["psa_id"], first["match"], bool(first["link"])) == ("update", "7", "vendor_sku", True)
    assert (second["op"], second["psa_id"], second["match"], bool(second["link"])) == ("update", "8", "mpn", True)
    assert row(plan, "tdsynnex:3")["op"] == "create"
    assert plan.counts["create"] == 1  # nothing duplicated
    assert bool(first["save_xref"])


def test_hand_made_product_equal_to_desired_is_linked_without_a_write() -> None:
    items = catalog(item(1))
    psa, _ = synced(items, first_id=50)
    plan = build_catalog_plan(items, psa, no_xref(), OPTIONS)
    linked = row(plan, "tdsynnex:1")
    assert (linked["op"], bool(linked["link"]), bool(linked["save_xref"])) == ("unchanged", True, True)
    assert plan.write_count == 0
    assert plan.xref_only().values.tolist()[0][:2] == ["tdsynnex:1", "50"]


def test_products_linked_to_other_items_are_not_candidates() -> None:
    items = catalog(item(1))
    psa, xref = synced(catalog(item(9, sku="1")), first_id=70)  # PSA 70 is linked to tdsynnex:9
    plan = build_catalog_plan(pd.concat([items, catalog(item(9, sku="1-x"))]), psa, xref, OPTIONS)
    assert row(plan, "tdsynnex:1")["op"] == "create"


def test_two_psa_products_on_one_key_are_a_duplicate_and_nothing_is_written() -> None:
    items = catalog(item(1), item(2))
    psa = psa_frame(psa_product("7", vendor_sku="1"), psa_product("8", vendor_sku="1"))
    plan = build_catalog_plan(items, psa, no_xref(), OPTIONS)
    duplicate = row(plan, "tdsynnex:1")
    assert duplicate["op"] == "duplicate" and pd.isna(duplicate["psa_id"])
    assert "7, 8" in duplicate["reason"]
    assert pd.isna(duplicate["idempotency_key"]) and not bool(duplicate["link"])
    assert ops(plan) == {"tdsynnex:1": "duplicate", "tdsynnex:2": "create"}


def test_discontinued_and_gone_items_deactivate_never_delete() -> None:
    items = catalog(item(1), item(2), item(3), item(4), item(5))
    psa, xref = synced(items)
    now = catalog(item(1, status="Discontinued"), item(2), item(3), item(4))  # 5 is gone
    plan = build_catalog_plan(now, psa, xref, OPTIONS)
    assert ops(plan) == {
        "tdsynnex:1": "deactivate",
        "tdsynnex:2": "unchanged",
        "tdsynnex:3": "unchanged",
        "tdsynnex:4": "unchanged",
        "tdsynnex:5": "deactivate",
    }
    for source_key in ("tdsynnex:1", "tdsynnex:5"):
        deactivation = row(plan, source_key)
        assert deactivation["changed_fields"] == ("active",)
        assert bool(deactivation["desired_active"]) is False and bool(deactivation["before_active"]) is True
        assert deactivation["desired_name"] == deactivation["before_name"]  # only ``active`` changes
        assert deactivation["idempotency_key"].startswith(f"acme-at:deactivate:{source_key}:")
    # Once deactivated, the next run leaves them alone (fingerprint of the inactive state was planned).
    psa.loc[[0, 4], "active"] = False
    xref.loc[[0, 4], "fingerprint"] = [row(plan, "tdsynnex:1")["fingerprint"], row(plan, "tdsynnex:5")["fingerprint"]]
    again = build_catalog_plan(now, psa, xref, OPTIONS)
    assert again.write_count == 0 and again.counts["conflict"] == 0


def test_held_items_are_not_deactivated_and_unlinked_discontinued_items_not_created() -> None:
    items = catalog(item(1), item(2))
    psa, xref = synced(items)
    plan = build_catalog_plan(catalog(item(1), item(3, status="Discontinued")), psa, xref, OPTIONS, held=["tdsynnex:2"])
    assert ops(plan) == {"tdsynnex:1": "unchanged"}


def test_mass_deactivation_guard_refuses_with_counts() -> None:
    items = catalog(*(item(n) for n in range(1, 11)))
    psa, xref = synced(items)
    with pytest.raises(MassDeactivationRefused) as refused:
        build_catalog_plan(catalog(item(1), item(2), item(3), item(4)), psa, xref, OPTIONS)
    assert (refused.value.deactivate, refused.value.linked) == (6, 10)
    assert "6 of 10" in str(refused.value) and refused.value.code == "RECONCILE_MASS_DEACTIVATION"
    allowed = build_catalog_plan(
        catalog(item(1), item(2), item(3), item(4)), psa, xref, OPTIONS.with_overrides(max_deactivate_share=0.6)
    )
    assert allowed.counts["deactivate"] == 6


def test_product_limit_names_the_overflow_and_the_biggest_categories() -> None:
    existing = catalog(item(1), item(2))
    psa, xref = synced(existing)
    new = [item(n, category_code="MON") for n in range(10, 15)] + [item(20, category_code="NB")]
    options = OPTIONS.with_overrides(max_products=5)
    with pytest.raises(ProductLimitExceeded) as refused:
        build_catalog_plan(pd.concat([existing, catalog(*new)]), psa, xref, options)
    error = refused.value
    assert (error.over, error.existing, error.creating) == (3, 2, 6)
    assert error.by_category[0] == ("MON → Monitors", 5)
    assert "3 over its limit of 5" in str(error) and "MON → Monitors (5 new)" in str(error)


def test_connectwise_options_drop_msrp_and_use_its_limits() -> None:
    options = CatalogOptions.for_psa("connectwise", key_prefix="acme-cw", category_map=OPTIONS.category_map)
    assert options.fields == CONNECTWISE_FIELDS and "msrp" not in options.fields
    assert options.max_products == CONNECTWISE_MAX_PRODUCTS == 20_000
    plan = build_catalog_plan(catalog(item(1, description="x" * 80)), psa_frame(), no_xref(), options)
    created = row(plan, "tdsynnex:1")
    assert len(created["desired_name"]) == CONNECTWISE_LIMITS.name == 60
    assert pd.isna(created["desired_msrp"])


def test_vanished_product_is_recreated_with_its_own_key_and_a_bad_psa_read_is_refused() -> None:
    items = catalog(*(item(n) for n in range(1, 11)))
    psa, xref = synced(items)
    plan = build_catalog_plan(items, psa.iloc[1:], xref, OPTIONS)
    recreated = row(plan, "tdsynnex:1")
    assert recreated["op"] == "create"
    assert recreated["idempotency_key"] == "acme-at:create:tdsynnex:1:replaces-100"
    assert "no longer exists" in recreated["reason"] and plan.notes
    with pytest.raises(CrossReferenceMismatch):
        build_catalog_plan(items, psa_frame(), xref, OPTIONS)


def test_idempotency_keys_and_fingerprints_are_deterministic() -> None:
    items = catalog(item(1), item(2, cost=90.0))
    psa, xref = synced(catalog(item(1), item(2)))
    first = build_catalog_plan(items, psa, xref, OPTIONS)
    second = build_catalog_plan(items.copy(), psa.copy(), xref.copy(), OPTIONS)
    pd.testing.assert_frame_equal(first.frame, second.frame)
    update = row(first, "tdsynnex:2")
    assert update["idempotency_key"] == f"acme-at:update:tdsynnex:2:101:{update['fingerprint'][:32]}"
    other = build_catalog_plan(items, psa, xref, OPTIONS.with_overrides(key_prefix="other"))
    assert row(other, "tdsynnex:2")["idempotency_key"].startswith("other:update:")


def test_duplicate_source_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate keys"):
        build_catalog_plan(catalog(item(1), item(1)), psa_frame(), no_xref(), OPTIONS)


def test_a_key_longer_than_the_psa_field_refuses_the_plan_instead_of_being_cut() -> None:
    from channelsync.reconcile.guards import KeyTooLong

    long_mpn = item(1)
    long_mpn["mpn"] = "M" * (OPTIONS.limits.mpn + 1)
    with pytest.raises(KeyTooLong, match="never truncated"):
        build_catalog_plan(catalog(long_mpn), psa_frame(), no_xref(), OPTIONS)
