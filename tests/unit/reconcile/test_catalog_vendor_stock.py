"""build_catalog_plan: the vendor row as a managed field, stock only when enabled, older fingerprints."""

from __future__ import annotations

import pandas as pd
import pytest

from channelsync.canonical import PLAN, STOCK_FIELDS
from channelsync.canonical.limits import AUTOTASK_FIELDS, previous_fields
from channelsync.reconcile.catalog import CatalogOptions, build_catalog_plan
from channelsync.reconcile.fingerprint import fingerprint_frame
from channelsync.reconcile.price_availability import PnaOptions, build_pna_plan
from channelsync.reconcile.pricing import MarkupRule

from ._data import OPTIONS, catalog, item, no_xref, psa_frame, psa_product, synced
from .test_price_availability_plan import pna

STOCK = OPTIONS.with_overrides(fields=AUTOTASK_FIELDS + STOCK_FIELDS)


def row(plan, source_key: str) -> pd.Series:  # type: ignore[no-untyped-def]
    rows = plan.frame[plan.frame["source_key"] == source_key]
    assert len(rows) == 1
    return rows.iloc[0]


def test_the_distributor_vendor_is_part_of_every_desired_product() -> None:
    plan = build_catalog_plan(catalog(item(1)), psa_frame(), no_xref(), OPTIONS)
    created = row(plan, "tdsynnex:1")
    assert created["desired_vendor"] == "TD SYNNEX" and "vendor" in created["changed_fields"]
    assert next(plan.operations()).fields["vendor"] == "TD SYNNEX"


@pytest.mark.parametrize("found", [None, "company #7"])
def test_a_missing_or_wrong_vendor_row_is_planned_as_its_repair(found: str | None) -> None:
    """The defect: a product whose vendor row was lost. Its xref fingerprint was stored by a release that
    did not manage the vendor (it could not see the loss), so this is no person's edit: an update of
    ``vendor`` only, one operation, no other field touched."""
    items = catalog(item(1), item(2))
    psa, xref = synced(items)
    xref["fingerprint"] = fingerprint_frame(psa, previous_fields(OPTIONS.fields))  # stored before vendor counted
    psa.loc[0, "vendor"] = found
    plan = build_catalog_plan(items, psa, xref, OPTIONS)
    repair = row(plan, "tdsynnex:1")
    assert (repair["op"], repair["changed_fields"]) == ("update", ("vendor",))
    assert (repair["before_vendor"] if found else None, repair["desired_vendor"]) == (found, "TD SYNNEX")
    assert repair["idempotency_key"].startswith("acme-at:update:tdsynnex:1:100:")
    assert row(plan, "tdsynnex:2")["op"] == "unchanged" and bool(row(plan, "tdsynnex:2")["save_xref"])
    assert plan.write_count == 1
    assert plan.diff_rows(limit=None)[["field", "after"]].values.tolist() == [["vendor", "TD SYNNEX"]]


def test_a_vendor_a_person_changed_after_the_sync_is_a_conflict_like_any_field() -> None:
    items = catalog(item(1))
    psa, xref = synced(items)  # fingerprint stored with vendor TD SYNNEX
    psa.loc[0, "vendor"] = "company #9"
    assert row(build_catalog_plan(items, psa, xref, OPTIONS), "tdsynnex:1")["op"] == "conflict"
    wins = build_catalog_plan(items, psa, xref, OPTIONS.with_overrides(distributor_wins=True))
    assert (row(wins, "tdsynnex:1")["op"], row(wins, "tdsynnex:1")["changed_fields"]) == ("update", ("vendor",))


def test_fingerprints_stored_before_vendor_was_managed_are_not_conflicts() -> None:
    items = catalog(item(1), item(2))
    psa, xref = synced(items)
    xref["fingerprint"] = fingerprint_frame(psa, previous_fields(OPTIONS.fields))
    plan = build_catalog_plan(items, psa, xref, OPTIONS)
    assert plan.counts["unchanged"] == 2 and plan.counts["conflict"] == 0
    refreshed = plan.xref_only()  # re-stored with the current field set
    assert refreshed["fingerprint"].tolist() == fingerprint_frame(psa, OPTIONS.fields).tolist()
    psa.loc[1, "name"] = "Renamed by a person"  # a real edit still is one
    assert row(build_catalog_plan(items, psa, xref, OPTIONS), "tdsynnex:2")["op"] == "conflict"


def test_hand_made_products_are_linked_with_their_vendor_set() -> None:
    items = catalog(item(1))
    made = synced(items, first_id=7)[0].assign(vendor=[None])
    plan = build_catalog_plan(items, made, no_xref(), OPTIONS)
    linked = row(plan, "tdsynnex:1")
    assert (linked["op"], linked["changed_fields"], bool(linked["link"])) == ("update", ("vendor",), True)


def test_stock_is_not_managed_unless_enabled() -> None:
    items = catalog(item(1, quantity_available=9))
    psa, xref = synced(items)
    psa.loc[0, "quantity_on_hand"] = 2
    plan = build_catalog_plan(items, psa, xref, OPTIONS)
    assert plan.write_count == 0 and "quantity_on_hand" not in OPTIONS.fields
    assert row(plan, "tdsynnex:1")["idempotency_key"] is pd.NA
    assert pd.isna(row(plan, "tdsynnex:1")["before_quantity_on_hand"])  # not even carried


def test_enabled_stock_writes_only_a_changed_quantity_without_touching_the_fingerprint() -> None:
    items = catalog(item(1, quantity_available=9), item(2, quantity_available=4), item(3, quantity_available=None))
    psa, xref = synced(items, STOCK)
    psa["quantity_on_hand"] = pd.array([2, 4, 6], dtype="Int64")
    psa["inventory_id"] = pd.array(["501", "502", None], dtype="string")
    plan = build_catalog_plan(items, psa, xref, STOCK)
    assert list(plan.frame.columns) == list(PLAN)
    changed = row(plan, "tdsynnex:1")
    assert (changed["op"], changed["changed_fields"]) == ("update", ("quantity_on_hand",))
    assert (changed["before_quantity_on_hand"], changed["desired_quantity_on_hand"]) == (2, 9)
    # Stock is not fingerprinted: no conflict, the same xref fingerprint, and the same one
    # price_availability (which never reads stock) computes.
    assert changed["fingerprint"] == xref.loc[0, "fingerprint"] == fingerprint_frame(psa, OPTIONS.fields)[0]
    assert changed["idempotency_key"].endswith(":q9")  # the fingerprint cannot tell quantities apart
    assert row(plan, "tdsynnex:2")["op"] == "unchanged"
    assert row(plan, "tdsynnex:3")["op"] == "unchanged"  # no distributor quantity: the PSA's is kept
    update = next(plan.operations())
    assert update.fields["quantity_on_hand"] == 9 and update.fields["inventory_id"] == "501"
    assert plan.diff_rows(limit=None)[["field", "before", "after"]].values.tolist() == [["quantity_on_hand", "2", "9"]]


def test_enabled_stock_is_created_with_the_product_and_keys_stay_distinct_per_quantity() -> None:
    plan = build_catalog_plan(catalog(item(1, quantity_available=3)), psa_frame(), no_xref(), STOCK)
    create = next(plan.operations())
    assert "quantity_on_hand" in create.changed_fields and create.fields["quantity_on_hand"] == 3
    assert create.fields["inventory_id"] is None and create.key == "acme-at:create:tdsynnex:1:new"
    items = catalog(item(1, quantity_available=5))
    psa, xref = synced(items, STOCK)
    keys = set()
    for quantity in (1, 2):
        moved = build_catalog_plan(catalog(item(1, quantity_available=quantity)), psa, xref, STOCK)
        keys.add(row(moved, "tdsynnex:1")["idempotency_key"])
    assert len(keys) == 2


def test_stock_on_a_psa_without_writable_stock_is_refused() -> None:
    assert "quantity_on_hand" in CatalogOptions.for_psa("autotask", manage_stock=True).fields
    assert "quantity_on_hand" not in CatalogOptions.for_psa("autotask").fields
    with pytest.raises(ValueError, match="connectwise has no writable on-hand quantity"):
        CatalogOptions.for_psa("connectwise", manage_stock=True)


def test_negative_distributor_quantities_count_as_none_in_stock() -> None:
    plan = build_catalog_plan(catalog(item(1, quantity_available=-3)), psa_frame(), no_xref(), STOCK)
    assert next(plan.operations()).fields["quantity_on_hand"] == 0


def test_price_availability_accepts_fingerprints_stored_before_vendor_was_managed() -> None:
    psa, xref = synced(catalog(item(1)))
    xref["fingerprint"] = fingerprint_frame(psa, previous_fields(OPTIONS.fields))
    options = PnaOptions(key_prefix="acme-at", fields=OPTIONS.fields, default_rule=MarkupRule(percent=20.0))
    plan = build_pna_plan(pna({"sku": "1", "status": "Active", "cost": 110.0}), psa, xref, options)
    assert plan.counts == {"update": 1}
    assert plan.frame.loc[0, "fingerprint"] == fingerprint_frame(
        psa.assign(unit_cost=[110.0], unit_price=[132.0]), OPTIONS.fields)[0]


def test_hand_made_product_without_vendor_fields_in_the_frame_helpers() -> None:
    """The PSA frame carries vendor and stock columns for every product (adapters fill them)."""
    frame = psa_frame(psa_product("7"))
    assert {"vendor", "quantity_on_hand", "inventory_id"} <= set(frame.columns)
    assert str(frame["quantity_on_hand"].dtype) == "Int64"
