"""Customer mappings in the state store (state/mappings.py), on SQLite and PostgreSQL: one mapping per
customer and integration, an audit row for every change in the same transaction, none for a no-op."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from channelsync.state import db, mappings
from channelsync.state.mappings import (
    MAPPING,
    CustomerKey,
    MappingError,
    MappingNotFound,
    conflicting_mappings,
    get_mapping,
    load_mappings,
    mapping_history,
    refresh_names,
    remove_mapping,
    set_mapping,
    set_sync,
)
from channelsync.state.models import CustomerMapping, MappingAudit

KEY = CustomerKey("crayon", "4401", "310007")
OTHER = CustomerKey("pax8", "sandbox_pax8", "6a1f0c3e-0000-4000-8000-000000000001")


@pytest.fixture()
def url(state_url: str) -> str:
    db.upgrade(state_url)
    return state_url


def _audit_count(url: str) -> int:
    with db.session_scope(url) as session:
        return int(session.scalar(select(func.count()).select_from(MappingAudit)) or 0)


def test_a_mapping_is_created_loaded_and_audited(url: str) -> None:
    action = set_mapping(url, "i", KEY, company="12", contract="34", by="alice", customer_name="Contoso",
                         psa_tenant="autotask:1")
    assert action == "create"
    frame = load_mappings(url, "i")
    assert list(frame.columns) == list(MAPPING) and dict(frame.dtypes.astype(str)) == MAPPING
    assert frame.to_dict("records") == [{
        "distributor": "crayon", "account": "4401", "customer_id": "310007", "customer_name": "Contoso",
        "psa_company_id": "12", "psa_contract_id": "34", "sync_enabled": True,
    }]
    assert load_mappings(url, "another").empty
    (row,) = mapping_history(url, "i")
    assert (row["action"], row["changed_by"], row["key"], row["before"]) == ("create", "alice", str(KEY), None)
    assert row["after"] == {"customer_name": "Contoso", "psa_company_id": "12", "psa_contract_id": "34",
                            "psa_tenant": "autotask:1", "sync_enabled": True}
    assert row["changed_at"].endswith("+00:00")
    stored = get_mapping(url, "i", KEY)
    assert stored is not None and stored["updated_by"] == "alice" and stored["psa_tenant"] == "autotask:1"


def test_a_change_records_before_and_after_and_a_no_op_records_nothing(url: str) -> None:
    set_mapping(url, "i", KEY, company="12", contract="34", by="alice", customer_name="Contoso")
    assert set_mapping(url, "i", KEY, company="12", contract="34", by="bob") is None  # name kept, nothing new
    assert _audit_count(url) == 1
    assert set_mapping(url, "i", KEY, company="12", contract="35", by="bob") == "update"
    last = mapping_history(url, "i", KEY)[-1]
    assert last["action"] == "update" and last["changed_by"] == "bob"
    assert (last["before"]["psa_contract_id"], last["after"]["psa_contract_id"]) == ("34", "35")
    assert last["after"]["customer_name"] == "Contoso"  # kept when not given
    assert get_mapping(url, "i", KEY)["updated_by"] == "bob"  # type: ignore[index]


def test_the_sync_switch(url: str) -> None:
    with pytest.raises(MappingNotFound, match="no mapping for customer crayon:4401:310007"):
        set_sync(url, "i", KEY, False, "alice")
    set_mapping(url, "i", KEY, company="12", contract="34", by="alice")
    assert set_sync(url, "i", KEY, False, "bob") == "disable"
    assert set_sync(url, "i", KEY, False, "bob") is None
    assert load_mappings(url, "i")["sync_enabled"].tolist() == [False]
    assert set_sync(url, "i", KEY, True, "carol") == "enable"
    assert [(r["action"], r["changed_by"]) for r in mapping_history(url, "i")] == [
        ("create", "alice"), ("disable", "bob"), ("enable", "carol")]
    # A mapping saved switched off stays off until someone enables it.
    assert set_mapping(url, "i", OTHER, company="5", contract="6", sync_enabled=False, by="alice") == "create"
    assert load_mappings(url, "i").set_index("distributor")["sync_enabled"].to_dict() == {"crayon": True, "pax8": False}


def test_removing_keeps_the_history(url: str) -> None:
    with pytest.raises(MappingNotFound):
        remove_mapping(url, "i", KEY, by="alice")
    set_mapping(url, "i", KEY, company="12", contract="34", by="alice")
    set_mapping(url, "i", OTHER, company="5", contract="6", by="alice")
    assert remove_mapping(url, "i", KEY, by="bob") == "remove"
    assert load_mappings(url, "i")["distributor"].tolist() == ["pax8"]
    history = mapping_history(url, "i", KEY)
    assert [r["action"] for r in history] == ["create", "remove"]
    assert history[-1]["after"] is None and history[-1]["before"]["psa_contract_id"] == "34"
    assert len(mapping_history(url, "i")) == 3
    # Mapped again later: a new creation, the old history still there.
    assert set_mapping(url, "i", KEY, company="13", contract="40", by="carol") == "create"
    assert [r["action"] for r in mapping_history(url, "i", KEY)] == ["create", "remove", "create"]


def test_a_second_mapping_of_one_customer_is_impossible(url: str) -> None:
    set_mapping(url, "i", KEY, company="12", contract="34", by="alice")
    with pytest.raises(IntegrityError), db.session_scope(url) as session:
        session.add(CustomerMapping(integration="i", distributor=KEY.distributor, account=KEY.account,
                                    customer_id=KEY.customer_id, psa_company_id="99", psa_contract_id="98",
                                    sync_enabled=True, updated_by="x"))
    assert load_mappings(url, "i")["psa_company_id"].tolist() == ["12"]
    # The same customer id in another account or distributor is another customer.
    set_mapping(url, "i", CustomerKey("crayon", "4402", "310007"), company="20", contract="21", by="alice")
    set_mapping(url, "i", CustomerKey("pax8", "4401", "310007"), company="22", contract="23", by="alice")
    assert len(load_mappings(url, "i")) == 3


def test_a_failed_audit_write_leaves_the_mapping_unchanged(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    set_mapping(url, "i", KEY, company="12", contract="34", by="alice")

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(mappings, "_audit", broken)
    with pytest.raises(RuntimeError):
        set_mapping(url, "i", KEY, company="12", contract="99", by="mallory")
    with pytest.raises(RuntimeError):
        remove_mapping(url, "i", KEY, by="mallory")
    monkeypatch.undo()
    assert load_mappings(url, "i")["psa_contract_id"].tolist() == ["34"]
    assert [r["action"] for r in mapping_history(url, "i")] == ["create"]


def test_concurrent_writers_of_one_customer_queue_and_every_change_is_audited_in_order(url: str) -> None:
    """Eight writers map the same new customer at once: one creates, the others update, and each audit
    row's "before" is the previous row's "after" (no lost update, no duplicate row)."""
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait()
            set_mapping(url, "i", KEY, company="12", contract=str(100 + n), by=f"writer-{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    history = mapping_history(url, "i", KEY)
    assert [r["action"] for r in history] == ["create"] + ["update"] * 7
    for previous, current in itertools.pairwise(history):
        assert current["before"] == previous["after"]
    assert len(load_mappings(url, "i")) == 1
    assert load_mappings(url, "i")["psa_contract_id"].tolist() == [history[-1]["after"]["psa_contract_id"]]


def test_customers_mapped_by_two_integrations_on_one_psa_tenant(url: str) -> None:
    set_mapping(url, "billing-a", KEY, company="12", contract="34", by="a", psa_tenant="autotask:1")
    set_mapping(url, "billing-b", KEY, company="12", contract="35", by="b", psa_tenant="autotask:1")
    set_mapping(url, "billing-c", KEY, company="12", contract="34", by="c", psa_tenant="autotask:2")  # other PSA
    set_mapping(url, "billing-a", OTHER, company="5", contract="6", by="a", psa_tenant="autotask:1")
    set_mapping(url, "billing-b", OTHER, company="5", contract="6", by="b", psa_tenant="autotask:1")
    set_mapping(url, "billing-a", CustomerKey("crayon", "4401", "1"), company="7", contract="8", by="a",
                psa_tenant="autotask:1")
    found = conflicting_mappings(url)
    assert found[["customer_id", "integration", "psa_contract_id", "same_target"]].values.tolist() == [
        ["310007", "billing-a", "34", False], ["310007", "billing-b", "35", False],
        [OTHER.customer_id, "billing-a", "6", True], [OTHER.customer_id, "billing-b", "6", True],
    ]
    assert set(found["psa_tenant"]) == {"autotask:1"}
    assert conflicting_mappings(url, psa_tenant="autotask:2").empty


def test_customer_names_as_last_seen(url: str) -> None:
    set_mapping(url, "i", KEY, company="12", contract="34", by="alice", customer_name="Contoso")
    set_mapping(url, "i", OTHER, company="5", contract="6", by="alice", customer_name="Fabrikam")
    changed = refresh_names(url, "i", {KEY: "Contoso Ltd", OTHER: "Fabrikam", CustomerKey("crayon", "1", "2"): "X"})
    assert changed == 1
    assert load_mappings(url, "i").set_index("distributor")["customer_name"].to_dict() == {
        "crayon": "Contoso Ltd", "pax8": "Fabrikam"}
    last = mapping_history(url, "i")[-1]
    assert (last["action"], last["changed_by"], last["before"]["customer_name"], last["after"]["customer_name"]) == (
        "rename", "channelsync", "Contoso", "Contoso Ltd")


def test_bad_input_is_refused_with_a_reason(url: str) -> None:
    with pytest.raises(MappingError, match="company id is required"):
        set_mapping(url, "i", KEY, company=" ", contract="1", by="alice")
    with pytest.raises(MappingError, match="--by"):
        set_mapping(url, "i", KEY, company="1", contract="1", by="")
    with pytest.raises(MappingError, match="not a customer key"):
        CustomerKey.parse("crayon:4401")
    assert CustomerKey.parse(" Crayon:4401:310007 ") == KEY
    assert CustomerKey.parse("pax8:acct:a:b") == CustomerKey("pax8", "acct", "a:b")
    assert _audit_count(url) == 0


def test_upgrade_from_0003_keeps_existing_mappings(state_url: str) -> None:
    db.upgrade(state_url, revision="0003")
    with db.get_engine(state_url).begin() as connection:
        connection.execute(text("INSERT INTO customer_mappings (integration, distributor, customer_key, customer_name, "
                                "psa_company_id, psa_contract_id, sync_enabled) VALUES ('i', 'crayon', '310007', "
                                "'Contoso', '12', '34', true)"))
    db.upgrade(state_url)
    frame = load_mappings(state_url, "i")
    assert frame.to_dict("records") == [{
        "distributor": "crayon", "account": "", "customer_id": "310007", "customer_name": "Contoso",
        "psa_company_id": "12", "psa_contract_id": "34", "sync_enabled": True,
    }]
    legacy = CustomerKey("crayon", "", "310007")
    assert set_sync(state_url, "i", legacy, False, "alice") == "disable"
    assert isinstance(load_mappings(state_url, "i"), pd.DataFrame)
