"""service_catalog_sync's planner, pure: every expectation below is worked out by hand from the rows given."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from channelsync.canonical import XREF
from channelsync.canonical.billing import CSP_PRODUCT, PSA_SERVICE
from channelsync.reconcile.services import (
    SERVICE_LIMITS_BY_PSA,
    ServicePlanOptions,
    ServicesVanished,
    build_service_plan,
    select_products,
)

AUTOTASK = ServicePlanOptions()
CONNECTWISE = ServicePlanOptions(limits=SERVICE_LIMITS_BY_PSA["connectwise"])


def product(sku: str, *, name: str = "Microsoft 365 Business Basic", description: str | None = None,
            cost: float = 5.1, price: float = 6.0, cycle: str = "Monthly",
            distributor: str = "crayon") -> dict[str, Any]:
    return {"source_key": f"{distributor}:{sku}", "distributor": distributor, "account": "4401", "sku": sku,
            "name": name, "description": description, "unit_cost": cost, "unit_price": price, "currency": "USD",
            "billing_cycle": cycle, "term": "P1Y", "usage": cycle == "None", "parse_error": None}


def products(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(CSP_PRODUCT)).astype(CSP_PRODUCT)


def service(psa_id: str, name: str, *, cost: float = 5.1, price: float = 6.0, description: str = "Microsoft 365 "
            "Business Basic", period: str = "Monthly", active: bool = True) -> dict[str, Any]:
    return {"psa_id": psa_id, "name": name, "description": description, "invoice_description": description,
            "unit_cost": cost, "unit_price": price, "period": period, "active": active, "vendor": None}


def services(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(PSA_SERVICE)).astype(PSA_SERVICE)


def xref(*links: tuple[str, str, str | None]) -> pd.DataFrame:
    return pd.DataFrame(links, columns=list(XREF)).astype(XREF)


def one(plan_frame: pd.DataFrame, source_key: str) -> dict[str, Any]:
    rows = plan_frame[plan_frame["source_key"] == source_key].to_dict("records")
    assert len(rows) == 1, rows
    return rows[0]


def first_sync(*rows: dict[str, Any], options: ServicePlanOptions = AUTOTASK) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Plan a first sync, then what the PSA and the cross-reference hold once it is applied (ids 100, 101 …)."""
    plan = build_service_plan(products(*rows), services(), xref(), options)
    created = plan.rows("create").reset_index(drop=True)
    held = services(*[
        {"psa_id": str(100 + i), **{name: row[f"desired_{name}"] for name in
                                    ("name", "description", "invoice_description", "unit_cost", "unit_price",
                                     "period", "vendor")}, "active": True}
        for i, row in created.iterrows()])
    links = xref(*[(row["source_key"], str(100 + i), row["fingerprint"]) for i, row in created.iterrows()])
    return held, links


# ---- the desired service ---------------------------------------------------------------------------------

def test_first_sync_creates_one_pc_service_per_product_with_its_period() -> None:
    plan = build_service_plan(products(
        product("CFQ7TTC0LH18:0001:P1Y:Monthly", cost=5.1, price=6.0),
        product("CFQ7TTC0LH18:0001:P1Y:Annual", cost=61.2, price=72.0, cycle="Annual"),
        product("DZH318Z0BQ3Q:0001:NONE:None", name="Azure plan", cost=0.0, price=0.0, cycle="None"),
    ), services(), xref(), AUTOTASK)
    assert plan.counts == {"create": 3, "update": 0, "unchanged": 0, "skipped": 0, "duplicate": 0}
    annual = one(plan.frame, "crayon:CFQ7TTC0LH18:0001:P1Y:Annual")
    assert (annual["desired_name"], annual["desired_period"], annual["desired_unit_cost"],
            annual["desired_unit_price"]) == ("PC_CFQ7TTC0LH18:0001:P1Y:Annual", "Yearly", 61.2, 72.0)
    # No description on the price list: both descriptions are the product's name.
    assert annual["desired_description"] == annual["desired_invoice_description"] == "Microsoft 365 Business Basic"
    assert one(plan.frame, "crayon:DZH318Z0BQ3Q:0001:NONE:None")["desired_period"] == "Monthly"  # usage: monthly
    ops = {op.source_key: op for op in plan.operations()}
    monthly = ops["crayon:CFQ7TTC0LH18:0001:P1Y:Monthly"]
    assert monthly.key == "service:create:crayon:CFQ7TTC0LH18:0001:P1Y:Monthly:new"
    assert monthly.scope == "tenant" and monthly.op == "create"
    assert monthly.fields["name"] == "PC_CFQ7TTC0LH18:0001:P1Y:Monthly" and monthly.fields["unit_price"] == 6.0


def test_a_triennial_product_and_an_over_long_name_are_skipped_with_the_reason() -> None:
    long_sku = "X" * 98  # "PC_" + 98 = 101 > Autotask's 100
    plan = build_service_plan(products(product("T:P3Y:Triennial", cycle="Triennial"), product(long_sku)),
                              services(), xref(), AUTOTASK)
    assert plan.counts["skipped"] == 2 and plan.counts["create"] == 0
    assert "Triennial" in one(plan.frame, "crayon:T:P3Y:Triennial")["reason"]
    assert "longer than the PSA's 100 characters" in one(plan.frame, f"crayon:{long_sku}")["reason"]
    assert list(plan.operations()) == []


@pytest.mark.parametrize(("options", "description_max", "invoice_max"), [(AUTOTASK, 400, 1000),
                                                                          (CONNECTWISE, 60, 6000)])
def test_long_descriptions_are_cut_to_the_psa_limits_and_reported(options: ServicePlanOptions, description_max: int,
                                                                  invoice_max: int) -> None:
    name, text = "N" * 450, "D" * 1200
    plan = build_service_plan(products(product("LONG", name=name, description=text)), services(), xref(), options)
    row = one(plan.frame, "crayon:LONG")
    assert row["desired_description"] == "N" * description_max
    assert row["desired_invoice_description"] == "D" * min(1200, invoice_max)
    expected = [f"description cut from 450 to {description_max} characters"]
    if invoice_max < 1200:
        expected.append(f"invoice description cut from 1200 to {invoice_max} characters")
    assert row["truncated"] == "; ".join(expected)
    assert list(plan.truncations()["source_key"]) == ["crayon:LONG"]


# ---- after the first sync --------------------------------------------------------------------------------

def test_second_sync_of_the_same_price_list_plans_nothing() -> None:
    rows = (product("A"), product("B", cycle="Annual", cost=61.2, price=72.0))
    held, links = first_sync(*rows)
    plan = build_service_plan(products(*rows), held, links, AUTOTASK)
    assert plan.counts["unchanged"] == 2 and list(plan.operations()) == []
    assert plan.xref_only().empty  # the fingerprints stored on create are the PSA's values read back


def test_a_price_change_updates_only_that_price_and_keeps_a_persons_rename() -> None:
    held, links = first_sync(product("A", cost=5.1, price=6.0))
    held.loc[0, ["name", "description"]] = ["M365 Basic (our name)", "edited by a person"]
    plan = build_service_plan(products(product("A", cost=5.1, price=6.5)), held, links, AUTOTASK)
    row = one(plan.frame, "crayon:A")
    assert row["op"] == "update" and row["changed_fields"] == ["unit_price"]
    assert (row["before_unit_price"], row["desired_unit_price"]) == (6.0, 6.5)
    assert row["desired_name"] == "M365 Basic (our name)" and row["hand_edited"]
    (update,) = plan.operations()
    assert update.scope == "run" and update.target_id == "100"
    assert {k: v for k, v in update.fields.items() if k in ("unit_cost", "unit_price", "description")} == \
        {"unit_price": 6.5}  # nothing but the price is written
    assert update.key.startswith("service:update:crayon:A:100:")
    # Margin: old 6.0 − 5.1 = 0.9 (15 % of 6.0), new 6.5 − 5.1 = 1.4 (21.54 % of 6.5).
    report = plan.price_changes().iloc[0]
    assert (report["old_margin"], report["new_margin"]) == (0.9, 1.4)
    assert (report["old_margin_pct"], report["new_margin_pct"]) == (15.0, 21.54)
    assert report["service"] == "M365 Basic (our name)"


def test_a_rename_alone_writes_nothing_but_refreshes_the_fingerprint() -> None:
    held, links = first_sync(product("A"))
    held.loc[0, "name"] = "renamed"
    plan = build_service_plan(products(product("A")), held, links, AUTOTASK)
    row = one(plan.frame, "crayon:A")
    assert (row["op"], row["hand_edited"], row["save_xref"]) == ("unchanged", True, True)
    assert list(plan.xref_only()["source_key"]) == ["crayon:A"]


def test_an_inactive_service_stays_inactive_and_gets_the_new_cost() -> None:
    held, links = first_sync(product("A", cost=5.1))
    held.loc[0, "active"] = False
    plan = build_service_plan(products(product("A", cost=4.9)), held, links, AUTOTASK)
    (update,) = plan.operations()
    assert update.changed_fields == ["unit_cost"] and update.fields["unit_cost"] == 4.9
    assert "active" not in update.fields
    assert "stays inactive" in one(plan.frame, "crayon:A")["reason"]


def test_a_service_deleted_in_the_psa_is_created_again_under_a_new_key() -> None:
    held, links = first_sync(product("A"), product("B"), product("C"))
    plan = build_service_plan(products(product("A"), product("B"), product("C")), held[held["psa_id"] != "101"],
                              links, AUTOTASK)
    row = one(plan.frame, "crayon:B")
    assert row["op"] == "create" and row["replaces"] == "101"
    assert row["idempotency_key"] == "service:create:crayon:B:replaces-101"
    assert "deleted in the PSA" in row["reason"]
    assert plan.counts["unchanged"] == 2


def test_most_linked_services_missing_at_once_is_refused() -> None:
    held, links = first_sync(product("A"), product("B"), product("C"))
    with pytest.raises(ServicesVanished, match="2 of 3 linked PSA services"):
        build_service_plan(products(product("A"), product("B"), product("C")), held[held["psa_id"] == "100"],
                           links, AUTOTASK)


def test_a_product_gone_from_the_price_list_is_left_alone() -> None:
    held, links = first_sync(product("A"), product("B"))
    plan = build_service_plan(products(product("A")), held, links, AUTOTASK)
    assert list(plan.frame["source_key"]) == ["crayon:A"] and list(plan.operations()) == []


# ---- names --------------------------------------------------------------------------------------------

def test_a_same_name_service_channelsync_did_not_create_is_named_not_adopted() -> None:
    plan = build_service_plan(products(product("A")), services(service("7", "pc_a")), xref(), AUTOTASK)
    row = one(plan.frame, "crayon:A")
    assert (row["op"], row["clash_id"]) == ("create", "7")  # the PSA refuses it; the load names service 7
    assert "'pc_a' (id 7)" in row["reason"] and "rename it" in row["reason"]
    (create,) = plan.operations()
    assert create.fields["clash_id"] == "7" and create.target_id is None
    remark = plan.diff_rows().query("field.isna()", engine="python")
    assert list(remark["after"]) == [row["reason"]]  # the preview says it before anything is sent


def test_a_same_name_service_linked_to_another_product_and_shared_names_are_duplicates() -> None:
    plan = build_service_plan(
        products(product("A"), product("B", distributor="crayon"), product("B", distributor="pax8")),
        services(service("7", "PC_A")), xref(("pax8:A", "7", None)), AUTOTASK)
    assert one(plan.frame, "crayon:A")["op"] == "duplicate"
    assert "already linked to pax8:A" in one(plan.frame, "crayon:A")["reason"]
    assert {one(plan.frame, key)["op"] for key in ("crayon:B", "pax8:B")} == {"duplicate"}
    assert list(plan.operations()) == []


# ---- what a run syncs -----------------------------------------------------------------------------------

def test_in_use_mode_keeps_products_in_use_and_those_already_synced() -> None:
    price_list = products(product("A"), product("B"), product("C"))
    chosen = select_products(price_list, mode="in_use", in_use_skus={"B"}, linked_keys=["crayon:C"])
    assert list(chosen["sku"]) == ["B", "C"]
    assert list(select_products(price_list, mode="all")["sku"]) == ["A", "B", "C"]


def test_the_vendor_company_is_written_on_create_only() -> None:
    options = ServicePlanOptions(vendor="company #3")
    plan = build_service_plan(products(product("A")), services(), xref(), options)
    (create,) = plan.operations()
    assert create.fields["vendor"] == "company #3"
    held, links = first_sync(product("A"), options=options)
    held.loc[0, "vendor"] = None  # a person removed it: not put back (only prices change after the first sync)
    assert build_service_plan(products(product("A")), held, links, options).counts["unchanged"] == 1
