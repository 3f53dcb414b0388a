"""build_pna_plan: writes only what changed, flags what TD SYNNEX no longer sells, keeps the xref
fingerprint consistent with catalog_sync's."""

from __future__ import annotations

from typing import Any

import pandas as pd

from channelsync.canonical import PNA_ROW, XREF, conform
from channelsync.canonical.limits import CONNECTWISE_FIELDS, CONNECTWISE_LIMITS
from channelsync.reconcile.catalog import CatalogOptions, build_catalog_plan
from channelsync.reconcile.fingerprint import fingerprint_frame
from channelsync.reconcile.price_availability import (
    PNA_CONFLICT,
    PNA_DISCONTINUED,
    PNA_NOT_AUTHORIZED,
    PNA_NOT_LINKED,
    PnaOptions,
    build_pna_plan,
)
from channelsync.reconcile.pricing import MarkupRule, MarkupRules

from ._data import OPTIONS, catalog, item, synced

PNA = PnaOptions(key_prefix="acme-at", fields=OPTIONS.fields, default_rule=MarkupRule(percent=20.0),
                 currency_rates={"EUR": 1.1})


def pna(*rows: dict[str, Any]) -> pd.DataFrame:
    base = {"mpn": None, "description": None, "currency": "USD", "quantity_available": 5, "on_order": 0, "eta": None}
    full = [{**base, "source_key": f"tdsynnex:{r['sku']}", **r} for r in rows]
    return conform(pd.DataFrame(full), PNA_ROW, name="pna")


def by_key(plan: Any) -> dict[str, pd.Series]:
    return {str(row["source_key"]): row for _, row in plan.frame.iterrows()}


def test_nothing_changed_plans_no_write() -> None:
    psa, xref = synced(catalog(item(1), item(2)))
    plan = build_pna_plan(pna({"sku": "1", "status": "Active", "cost": 100.0},
                              {"sku": "2", "status": "Active", "cost": 100.0}), psa, xref, PNA)
    assert plan.counts == {"unchanged": 2}
    assert plan.updates().empty and plan.diff_rows().empty


def test_changed_cost_updates_cost_and_price_only() -> None:
    psa, xref = synced(catalog(item(1), item(2)))
    plan = build_pna_plan(pna({"sku": "1", "status": "Active", "cost": 110.0},
                              {"sku": "2", "status": "Active", "cost": 100.0}), psa, xref, PNA)
    assert plan.counts == {"update": 1, "unchanged": 1}
    row = by_key(plan)["tdsynnex:1"]
    assert list(row["changed_fields"]) == ["unit_cost", "unit_price"]
    assert row["desired_unit_cost"] == 110.0 and row["desired_unit_price"] == 132.0
    assert row["before_unit_cost"] == 100.0 and row["psa_id"] == "100"
    assert row["idempotency_key"].startswith("acme-at:pna:update:tdsynnex:1:100:")
    assert set(plan.diff_rows()["field"]) == {"unit_cost", "unit_price"}


def test_update_price_false_writes_cost_only() -> None:
    psa, xref = synced(catalog(item(1)))
    plan = build_pna_plan(pna({"sku": "1", "status": "Active", "cost": 90.0}), psa, xref,
                          PnaOptions(**{**PNA.__dict__, "update_price": False}))
    row = by_key(plan)["tdsynnex:1"]
    assert list(row["changed_fields"]) == ["unit_cost"] and row["desired_unit_price"] == 120.0


def test_not_active_items_are_flagged_never_deactivated() -> None:
    psa, xref = synced(catalog(item(1), item(2), item(3)))
    plan = build_pna_plan(pna({"sku": "1", "status": "Discontinued", "cost": None},
                              {"sku": "2", "status": "Not authorized", "cost": None},
                              {"sku": "3", "status": "Not found", "cost": None},
                              {"sku": "4", "status": "Active", "cost": 5.0}), psa, xref, PNA)
    rows = by_key(plan)
    assert plan.counts == {"flagged": 4}
    assert rows["tdsynnex:1"]["error_code"] == PNA_DISCONTINUED
    assert rows["tdsynnex:2"]["error_code"] == PNA_NOT_AUTHORIZED
    assert rows["tdsynnex:3"]["error_code"] == "TDS_PNA_NOT_FOUND"
    assert rows["tdsynnex:4"]["error_code"] == PNA_NOT_LINKED  # active but never linked by catalog_sync
    assert plan.updates().empty


def test_inactive_psa_product_is_skipped_not_flagged() -> None:
    psa, xref = synced(catalog(item(1)))
    psa["active"] = pd.array([False], dtype="boolean")
    plan = build_pna_plan(pna({"sku": "1", "status": "Discontinued", "cost": None}), psa, xref, PNA)
    assert plan.counts == {"skipped": 1}


def test_hand_edited_product_is_a_conflict_unless_distributor_wins() -> None:
    psa, xref = synced(catalog(item(1)))
    psa.loc[0, "name"] = "renamed by a person"
    rows = pna({"sku": "1", "status": "Active", "cost": 120.0})
    plan = build_pna_plan(rows, psa, xref, PNA)
    assert plan.counts == {"conflict": 1}
    assert by_key(plan)["tdsynnex:1"]["error_code"] == PNA_CONFLICT
    wins = build_pna_plan(rows, psa, xref, PnaOptions(**{**PNA.__dict__, "distributor_wins": True}))
    assert wins.counts == {"update": 1}


def test_msrp_rule_without_msrp_leaves_price_alone() -> None:
    options = CatalogOptions.for_psa("connectwise", key_prefix="acme-cw", category_map={"NB": "Notebooks"},
                                     markup=MarkupRules(default=MarkupRule(percent=-5.0, basis="msrp")))
    psa, xref = synced(catalog(item(1)), options)
    psa["msrp"] = float("nan")  # ConnectWise stores no MSRP
    plan = build_pna_plan(pna({"sku": "1", "status": "Active", "cost": 101.0}), psa, xref,
                          PnaOptions(key_prefix="acme-cw", fields=CONNECTWISE_FIELDS,
                                     default_rule=MarkupRule(percent=-5.0, basis="msrp")))
    row = by_key(plan)["tdsynnex:1"]
    assert list(row["changed_fields"]) == ["unit_cost"] and row["desired_unit_price"] == 142.5
    assert CONNECTWISE_LIMITS.name == 60


def test_category_rule_and_ambiguous_category() -> None:
    options = PnaOptions(key_prefix="acme-at", fields=OPTIONS.fields, default_rule=MarkupRule(percent=20.0),
                         rules_by_category={"Notebooks": MarkupRule(percent=50.0), "Monitors": None})
    psa, xref = synced(catalog(item(1), item(2, category_code="MON")))
    plan = build_pna_plan(pna({"sku": "1", "status": "Active", "cost": 100.0},
                              {"sku": "2", "status": "Active", "cost": 200.0}), psa, xref, options)
    rows = by_key(plan)
    assert rows["tdsynnex:1"]["desired_unit_price"] == 150.0
    assert list(rows["tdsynnex:2"]["changed_fields"]) == ["unit_cost"]  # price left to catalog_sync


def test_fingerprint_after_update_is_what_catalog_sync_expects() -> None:
    """catalog_sync → price change → price_availability update → catalog_sync: no conflict, no write."""
    items = catalog(item(1), item(2))
    psa, xref = synced(items)
    plan = build_pna_plan(pna({"sku": "1", "status": "Active", "cost": 123.45},
                              {"sku": "2", "status": "Active", "cost": 100.0}), psa, xref, PNA)
    update = plan.updates().iloc[0]
    # The PSA after the write, and the xref as the loader leaves it.
    at = psa.index[psa["psa_id"] == update["psa_id"]][0]
    psa.loc[at, "unit_cost"] = update["desired_unit_cost"]
    psa.loc[at, "unit_price"] = update["desired_unit_price"]
    xref.loc[xref["source_key"] == update["source_key"], "fingerprint"] = update["fingerprint"]
    assert update["fingerprint"] == fingerprint_frame(psa.loc[[at]], OPTIONS.fields).iloc[0]
    later = build_catalog_plan(catalog(item(1, cost=123.45), item(2)), psa, conform(xref, XREF, name="x"), OPTIONS)
    assert later.counts.get("unchanged") == 2 and later.write_count == 0
    assert later.counts.get("conflict", 0) == 0
    # And a second refresh with the same prices plans nothing.
    again = build_pna_plan(pna({"sku": "1", "status": "Active", "cost": 123.45},
                               {"sku": "2", "status": "Active", "cost": 100.0}), psa, xref, PNA)
    assert again.counts == {"unchanged": 2}


def test_unknown_currency_rate_is_a_configuration_error() -> None:
    psa, xref = synced(catalog(item(1)))
    try:
        build_pna_plan(pna({"sku": "1", "status": "Active", "cost": 1.0}), psa, xref,
                       PnaOptions(**{**PNA.__dict__, "source_currency": "GBP"}))
    except Exception as exc:
        assert "GBP" in str(exc)
    else:
        raise AssertionError("expected MissingCurrencyRate")


def test_suite_quarantines_bad_rows_and_keeps_unpriced_flagged_ones() -> None:
    from channelsync.quality.price_availability import pna_suite
    from channelsync.quality.suite import validate

    rows = pna({"sku": "1", "status": "Active", "cost": 10.0},
               {"sku": "2", "status": "Active", "cost": -1.0},
               {"sku": "3", "status": "Active", "cost": None},
               {"sku": "4", "status": "Discontinued", "cost": None},
               {"sku": "5", "status": "Sold out", "cost": 1.0},
               {"sku": "6", "status": "Active", "cost": 1.0},
               {"sku": "6", "status": "Active", "cost": 2.0})
    outcome = validate(rows, pna_suite())
    assert sorted(outcome.valid["sku"]) == ["1", "4"]
    reasons = dict(zip(outcome.quarantine_items()["source_key"], outcome.quarantine_items()["reason"], strict=False))
    assert reasons["tdsynnex:2"] == "negative cost"
    assert reasons["tdsynnex:3"] == "Active item without a cost"
    assert reasons["tdsynnex:5"] == "unknown P&A status"
    assert "duplicate SKU" in reasons["tdsynnex:6"]
