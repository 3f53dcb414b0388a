"""The PSA contract adapters (subscription_billing's PSA side) against the Autotask and ConnectWise emulators
over loopback HTTP: reading contracts, units and charges; every operation executed; a lost answer settled
by reading the PSA (directly and through the real loader and ledger); the outside-the-dates refusal.

Contracts are seeded per test through the emulators' control endpoints (``POST /_sandbox/autotask/contracts``,
``POST /_sandbox/connectwise/agreements``), as a person would set them up in the PSA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from channelsync.adapters.psa_contracts import (
    CONTRACT_DATE_OUTSIDE,
    CONTRACT_OPERATION_UNSUPPORTED,
    CONTRACT_UNITS_CHANGED,
    charge_marker,
    contract_adapter,
)
from channelsync.canonical.billing import CONTRACT_UNITS
from channelsync.canonical.operation import Operation
from channelsync.clients.autotask import AutotaskClient
from channelsync.clients.autotask import client as autotask_client_module
from channelsync.clients.connectwise import ConnectWiseClient
from channelsync.clients.http import RetryPolicy
from channelsync.errors import ChannelsyncError, FatalApiError, OutcomeUnknownError
from channelsync.runs.loader import apply_operations
from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from channelsync.state import db, repository
from channelsync.state.ledger import Ledger, Target
from tests.sandbox_servers import running_sandbox

FAST = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.05, connect_timeout=2, read_timeout=5)
TODAY = date(2026, 6, 1)
OUTCOMES = {"adjust": "updated", "charge": "created", "add": "created", "update_addition": "updated"}


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxServer]:
    yield from running_sandbox(["autotask", "connectwise"])


@pytest.fixture()
def autotask(sandbox: SandboxControl, sandbox_server: SandboxServer) -> Any:
    autotask_client_module._ZONES.clear()
    creds = demo_credentials.AUTOTASK
    client = AutotaskClient(base_url=f"{sandbox_server.url}/autotask", username=creds["username"],
                            secret=creds["secret"], integration_code=creds["integration_code"], policy=FAST)
    adapter = contract_adapter("autotask", client)
    adapter.today = TODAY  # type: ignore[attr-defined]
    return adapter


@pytest.fixture()
def connectwise(sandbox: SandboxControl, sandbox_server: SandboxServer) -> Any:
    creds = demo_credentials.CONNECTWISE
    client = ConnectWiseClient(site_url=f"{sandbox_server.url}/connectwise", company=creds["company"],
                               public_key=creds["public_key"], private_key=creds["private_key"],
                               client_id=creds["client_id"], policy=FAST, sleep=lambda _s: None)
    return contract_adapter("connectwise", client)


@pytest.fixture()
def ledger_for(tmp_path: Path) -> Callable[[str], Ledger]:
    """A fresh run's ledger on a SQLite state store (each call: a new run, i.e. a rerun)."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    db.upgrade(url)
    runs = {"n": 0}

    def make(system: str) -> Ledger:
        runs["n"] += 1
        run_id = repository.start_run(url, integration="it", template="subscription_billing",
                                      run_key=f"r{runs['n']}", preview=False)
        return Ledger(url, integration="it", template="subscription_billing", run_id=run_id,
                      target=Target(system, "tenant"), entity_type="recurring_contract")

    return make


def op(kind: str, key: str, fields: dict[str, Any], target_id: str | None = None) -> Operation:
    return Operation(key=key, op=kind, source_key=f"src:{key}", target_id=target_id, fields=fields, scope="tenant")


def posts(sandbox: SandboxControl, system: str, path_part: str) -> list[dict[str, Any]]:
    return [e for e in sandbox.requests(system) if e["method"] == "POST" and path_part.lower() in e["path"].lower()
            and "/query" not in e["path"].lower()]


def drop_the_answer(sandbox: SandboxControl, system: str, path: str, method: str = "POST") -> None:
    sandbox.set_faults({"kind": "write_then_drop", "system": system, "method": method, "path": path, "count": 1})


def answer_was_dropped(sandbox: SandboxControl) -> bool:
    return [rule["fired"] for rule in sandbox.faults()] == [1]


# ---- Autotask ------------------------------------------------------------------------------------------

@pytest.fixture()
def at_contract(sandbox: SandboxControl) -> dict[str, Any]:
    """A 2026 Recurring Service contract of the first customer: PC_BILLING, 5 units at 20.00 / 15.00."""
    company = next(c for c in sandbox.records("autotask", "Companies") if c["companyType"] == 1)
    seeded: dict[str, Any] = sandbox.control("autotask", "contracts", json={
        "company": company["id"], "contractName": "Billing test", "startDate": "2026-01-01", "endDate": "2026-12-31",
        "services": [{"service": "PC_BILLING", "create": True, "units": 5, "unitPrice": 20, "unitCost": 15}]})
    return {"company_id": str(company["id"]), "contract_id": str(seeded["contract"]["id"]),
            "service_id": str(seeded["contractServices"][0]["serviceID"])}


def adjustment(at_contract: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"contract_id": at_contract["contract_id"], "service_id": at_contract["service_id"],
            "effective": "2026-03-15", "unit_change": 3, "unit_price": 21.0, "unit_cost": 16.0,
            "units_before": 5, "units_after": 8, **overrides}


def units_on(adapter: Any, contract_id: str, day: str) -> dict[str, Any]:
    frame = adapter.read_units([contract_id])
    row = frame[(frame["start"] <= day) & (frame["end"].isna() | (frame["end"] >= day))].iloc[0]
    return dict(row)


def test_autotask_reads_contracts_and_units(autotask: Any, at_contract: dict[str, Any]) -> None:
    contracts = {c.psa_id: c for c in autotask.read_contracts([at_contract["company_id"]])}
    ours = contracts[at_contract["contract_id"]]
    assert (ours.recurring, ours.active, ours.prorate, ours.type_name) == (True, True, None, "Recurring Service")
    assert (ours.start, ours.end, ours.company_id) == (date(2026, 1, 1), date(2026, 12, 31), at_contract["company_id"])
    # The first customer also has a Time & Materials contract (seeded), which billing must skip.
    assert any(not c.recurring and c.type_name == "Time & Materials" for c in contracts.values())
    units = autotask.read_units([at_contract["contract_id"]])
    assert list(units.columns) == list(CONTRACT_UNITS)
    assert {str(t) for t in units.dtypes} <= {"string", "float64"}
    assert len(units) == 12 and set(units["units"]) == {5.0} and set(units["unit_price"]) == {20.0}
    assert list(units["start"][:2]) == ["2026-01-01", "2026-02-01"] and units["end"].iloc[0] == "2026-01-31"


def test_autotask_adjust_is_applied_and_found_again(autotask: Any, at_contract: dict[str, Any],
                                                    sandbox: SandboxControl) -> None:
    planned = op("adjust", "adj-1", adjustment(at_contract))
    assert autotask.resolve_unknown(planned) is None  # not applied yet: units 5 = units_before
    assert autotask.execute(planned).isdigit()
    before, after = units_on(autotask, at_contract["contract_id"], "2026-03-14"), \
        units_on(autotask, at_contract["contract_id"], "2026-03-15")
    assert (before["units"], before["end"], after["units"], after["start"], after["unit_price"]) == \
        (5.0, "2026-03-14", 8.0, "2026-03-15", 21.0)
    assert autotask.resolve_unknown(planned) == f"unit:{after['record_id']}"
    # Someone changes the units meanwhile: neither before nor after, so nothing is decided blindly.
    sandbox.edit_record("autotask", "ContractServiceUnits", int(after["record_id"]), {"units": 9})
    with pytest.raises(ChannelsyncError) as refused:
        autotask.resolve_unknown(planned)
    assert refused.value.code == CONTRACT_UNITS_CHANGED


def test_autotask_price_only_adjustment_is_resolved_by_its_price(autotask: Any, at_contract: dict[str, Any]) -> None:
    planned = op("adjust", "adj-price", adjustment(at_contract, effective="2026-05-01", unit_change=0,
                                                   units_after=5, unit_price=22.5, unit_cost=None))
    assert autotask.resolve_unknown(planned) is None
    autotask.execute(planned)
    assert units_on(autotask, at_contract["contract_id"], "2026-05-01")["unit_price"] == 22.5
    assert autotask.resolve_unknown(planned) is not None


def test_autotask_lost_adjustment_answer_is_applied_once_through_the_loader(
        autotask: Any, at_contract: dict[str, Any], sandbox: SandboxControl,
        ledger_for: Callable[[str], Ledger]) -> None:
    planned = op("adjust", "adj-lost", adjustment(at_contract))
    drop_the_answer(sandbox, "autotask", r"/ContractServiceAdjustments$")  # applied, but the answer is lost
    first = apply_operations([planned], autotask, ledger_for("autotask"), concurrency=1, op_outcomes=OUTCOMES)
    assert answer_was_dropped(sandbox) and [o.outcome for o in first.outcomes] == ["updated"]
    assert str(first.outcomes[0].psa_id).startswith("unit:")  # found by reading the units, not sent again
    again = apply_operations([planned], autotask, ledger_for("autotask"), concurrency=1, op_outcomes=OUTCOMES)
    assert [o.outcome for o in again.outcomes] == ["unchanged"]
    assert units_on(autotask, at_contract["contract_id"], "2026-03-15")["units"] == 8.0  # not 11
    assert len(posts(sandbox, "autotask", "ContractServiceAdjustments")) == 1


def test_fields_may_come_from_a_staged_frame(autotask: Any, at_contract: dict[str, Any], connectwise: Any,
                                            cw_agreement: dict[str, Any]) -> None:
    """Dates as date / Timestamp, "no value" as NaN / NA / NaT: nothing missing reaches the wire."""
    autotask.execute(op("adjust", "adj-frame", adjustment(at_contract, effective=date(2026, 3, 15),
                                                          unit_cost=float("nan"), unit_price=pd.NA)))
    row = units_on(autotask, at_contract["contract_id"], "2026-03-15")
    assert (row["units"], row["unit_price"], row["unit_cost"]) == (8.0, 20.0, 15.0)
    added = connectwise.execute(op("add", "add-frame", addition(cw_agreement, start=pd.Timestamp("2026-03-01"),
                                                                end=pd.NaT, unit_cost=float("nan"))))
    units = connectwise.read_units([cw_agreement["contract_id"]]).set_index("record_id")
    assert pd.isna(units.loc[added, "end"]) and units.loc[added, "unit_cost"] == 30.0  # the catalog item's cost


def test_autotask_adjustment_outside_the_contract_dates(autotask: Any, at_contract: dict[str, Any]) -> None:
    with pytest.raises(FatalApiError) as refused:
        autotask.execute(op("adjust", "adj-late", adjustment(at_contract, effective="2027-02-01")))
    assert refused.value.code == CONTRACT_DATE_OUTSIDE and refused.value.system == "autotask"
    assert "2027-02-01" in str(refused.value) and "2026-12-31" in str(refused.value)
    with pytest.raises(FatalApiError) as other:  # a refusal the dates do not explain keeps its own code
        autotask.execute(op("adjust", "adj-bad", adjustment(at_contract, service_id="999999")))
    assert other.value.code != CONTRACT_DATE_OUTSIDE


def test_autotask_adjustment_after_the_contract_is_renewed(autotask: Any, at_contract: dict[str, Any]) -> None:
    """What the error's explanation tells people to do: renew (extend) the contract, rerun the customer."""
    planned = op("adjust", "adj-renewed", adjustment(at_contract, effective="2027-02-01"))
    with pytest.raises(FatalApiError):
        autotask.execute(planned)
    autotask.client.update("Contracts", {"id": int(at_contract["contract_id"]), "endDate": "2027-12-31"})
    autotask.execute(planned)
    assert units_on(autotask, at_contract["contract_id"], "2027-02-01")["units"] == 8.0


def charge_fields(contract_id: str, **overrides: Any) -> dict[str, Any]:
    return {"contract_id": contract_id, "name": "Microsoft 365 E3 credit", "on": "2026-04-10", "quantity": 2,
            "unit_price": -20.0, "unit_cost": -15.0, **overrides}


def test_autotask_charge_is_posted_marked_and_found_again(autotask: Any, at_contract: dict[str, Any]) -> None:
    planned = op("charge", "charge-1", charge_fields(at_contract["contract_id"]))
    assert autotask.resolve_unknown(planned) is None
    charge_id = autotask.execute(planned)
    [charge] = autotask.read_charges([at_contract["contract_id"]])
    assert charge == {**charge, "psa_id": charge_id, "marker": charge_marker("charge-1"), "on": "2026-04-10",
                      "quantity": 2.0, "unit_price": -20.0, "unit_cost": -15.0, "billable": True}
    assert autotask.resolve_unknown(planned) == charge_id
    # A person's charge (seeded on contract 1, already billed) carries no marker: not channelsync's.
    assert [c["marker"] for c in autotask.read_charges(["1"])] == [None]


def test_autotask_lost_charge_answer_is_posted_once(autotask: Any, at_contract: dict[str, Any],
                                                   sandbox: SandboxControl,
                                                   ledger_for: Callable[[str], Ledger]) -> None:
    planned = op("charge", "charge-lost", charge_fields(at_contract["contract_id"]))
    drop_the_answer(sandbox, "autotask", r"/Contracts/\d+/Charges$")
    with pytest.raises(OutcomeUnknownError):
        autotask.execute(planned)  # written, but the client cannot know
    assert autotask.resolve_unknown(planned) is not None
    sandbox.clear_faults()
    planned = op("charge", "charge-lost-2", charge_fields(at_contract["contract_id"], name="Second credit"))
    drop_the_answer(sandbox, "autotask", r"/Contracts/\d+/Charges$")
    result = apply_operations([planned], autotask, ledger_for("autotask"), concurrency=1, op_outcomes=OUTCOMES)
    assert answer_was_dropped(sandbox) and [o.outcome for o in result.outcomes] == ["created"]
    assert [c["psa_id"] for c in autotask.read_charges([at_contract["contract_id"]])][1:] == \
        [result.outcomes[0].psa_id]
    assert len(posts(sandbox, "autotask", "/Charges")) == 2  # one per charge, none sent twice


def test_autotask_refuses_operations_it_does_not_have(autotask: Any, at_contract: dict[str, Any]) -> None:
    with pytest.raises(ChannelsyncError) as refused:
        autotask.execute(op("add", "x", {"contract_id": at_contract["contract_id"]}))
    assert refused.value.code == CONTRACT_OPERATION_UNSUPPORTED


# ---- ConnectWise ---------------------------------------------------------------------------------------

@pytest.fixture()
def cw_agreement(sandbox: SandboxControl) -> dict[str, Any]:
    """A 2026 prorated Microsoft 365 agreement of a customer with one open-ended addition: 10 × MS-USER."""
    company = next(c for c in sandbox.records("connectwise", "companies") if c.get("accountNumber"))
    product = next(p for p in sandbox.records("connectwise", "catalogItems") if p["identifier"] == "MS-USER")
    seeded: dict[str, Any] = sandbox.control("connectwise", "agreements", json={
        "company": company["id"], "name": "M365 billing test", "startDate": "2026-01-01", "prorateFlag": True,
        "additions": [{"product": "MS-USER", "quantity": 10, "unitPrice": 20, "unitCost": 15,
                       "effectiveDate": "2026-01-01"}]})
    return {"company_id": str(company["id"]), "contract_id": str(seeded["agreement"]["id"]),
            "service_id": str(product["id"]), "addition_id": str(seeded["additions"][0]["id"])}


def test_connectwise_reads_agreements_and_additions(connectwise: Any, cw_agreement: dict[str, Any],
                                                    sandbox: SandboxControl) -> None:
    cancelled = sandbox.control("connectwise", "agreements", json={
        "company": int(cw_agreement["company_id"]), "name": "Old M365", "startDate": "2025-01-01",
        "cancelledFlag": True})["agreement"]
    contracts = {c.psa_id: c for c in connectwise.read_contracts([cw_agreement["company_id"]])}
    ours = contracts[cw_agreement["contract_id"]]
    assert (ours.recurring, ours.active, ours.prorate, ours.type_name) == (True, True, True, "Microsoft 365")
    assert (ours.start, ours.end, ours.company_id) == (date(2026, 1, 1), None, cw_agreement["company_id"])
    assert contracts[str(cancelled["id"])].active is False
    assert {c.company_id for c in contracts.values()} == {cw_agreement["company_id"]}
    units = connectwise.read_units([cw_agreement["contract_id"]])
    assert list(units.columns) == list(CONTRACT_UNITS)
    assert dict(units.iloc[0]) == {**dict(units.iloc[0]), "record_id": cw_agreement["addition_id"],
                                   "service_id": cw_agreement["service_id"], "start": "2026-01-01",
                                   "units": 10.0, "unit_price": 20.0, "unit_cost": 15.0}
    assert len(units) == 1 and units["end"].isna().all()


def addition(cw_agreement: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"contract_id": cw_agreement["contract_id"], "service_id": cw_agreement["service_id"],
            "start": "2026-03-01", "end": None, "quantity": 12, "unit_price": 20.0, "unit_cost": 15.0, **overrides}


def test_connectwise_add_and_update_addition(connectwise: Any, cw_agreement: dict[str, Any]) -> None:
    planned = op("add", "add-1", addition(cw_agreement))
    assert connectwise.resolve_unknown(planned) is None
    new_id = connectwise.execute(planned)
    assert connectwise.resolve_unknown(planned) == new_id
    end_old = op("update_addition", "upd-1", {"contract_id": cw_agreement["contract_id"], "end": "2026-02-28",
                                              "unit_price": 19.5}, target_id=cw_agreement["addition_id"])
    assert connectwise.resolve_unknown(end_old) is None  # not written yet
    assert connectwise.execute(end_old) == cw_agreement["addition_id"]
    assert connectwise.resolve_unknown(end_old) == cw_agreement["addition_id"]
    units = connectwise.read_units([cw_agreement["contract_id"]]).set_index("record_id")
    assert (units.loc[cw_agreement["addition_id"], "end"], units.loc[cw_agreement["addition_id"], "unit_price"]) == \
        ("2026-02-28", 19.5)
    assert (units.loc[new_id, "start"], units.loc[new_id, "units"]) == ("2026-03-01", 12.0)
    reopen = op("update_addition", "upd-2", {"contract_id": cw_agreement["contract_id"], "end": None},
                target_id=cw_agreement["addition_id"])
    connectwise.execute(reopen)
    assert connectwise.resolve_unknown(reopen) == cw_agreement["addition_id"]
    assert connectwise.read_units([cw_agreement["contract_id"]]).set_index("record_id")["end"].isna().all()


def test_connectwise_lost_addition_answer_is_added_once_through_the_loader(
        connectwise: Any, cw_agreement: dict[str, Any], sandbox: SandboxControl,
        ledger_for: Callable[[str], Ledger]) -> None:
    planned = op("add", "add-lost", addition(cw_agreement))
    drop_the_answer(sandbox, "connectwise", r"/finance/agreements/\d+/additions$")
    result = apply_operations([planned], connectwise, ledger_for("connectwise"), concurrency=1,
                              op_outcomes=OUTCOMES)
    assert answer_was_dropped(sandbox) and [o.outcome for o in result.outcomes] == ["created"]
    starts = list(connectwise.read_units([cw_agreement["contract_id"]])["start"])
    assert sorted(starts) == ["2026-01-01", "2026-03-01"]
    assert len(posts(sandbox, "connectwise", "/additions")) == 1


def test_connectwise_charge_is_a_one_time_addition(connectwise: Any, cw_agreement: dict[str, Any],
                                                   sandbox: SandboxControl) -> None:
    planned = op("charge", "cw-charge-1", {**charge_fields(cw_agreement["contract_id"]),
                                           "service_id": cw_agreement["service_id"]})
    assert connectwise.resolve_unknown(planned) is None
    charge_id = connectwise.execute(planned)
    [charge] = connectwise.read_charges([cw_agreement["contract_id"]])
    assert charge == {**charge, "psa_id": charge_id, "marker": charge_marker("cw-charge-1"), "on": "2026-04-01",
                      "quantity": 2.0, "unit_price": -20.0, "billable": True}
    assert charge["name"].startswith("Microsoft 365 E3 credit (ref cs-")
    stored = sandbox.record("connectwise", "additions", int(charge_id))
    assert (stored["effectiveDate"], stored["cancelledDate"]) == ("2026-04-01T00:00:00Z", "2026-04-30T00:00:00Z")
    assert charge_id not in set(connectwise.read_units([cw_agreement["contract_id"]])["record_id"])
    assert connectwise.resolve_unknown(planned) == charge_id


def test_connectwise_charge_in_the_first_month_starts_with_the_agreement(connectwise: Any,
                                                                         cw_agreement: dict[str, Any],
                                                                         sandbox: SandboxControl) -> None:
    late = sandbox.control("connectwise", "agreements", json={
        "company": int(cw_agreement["company_id"]), "name": "Mid-month start", "startDate": "2026-01-15"})
    planned = op("charge", "cw-charge-2", {**charge_fields(str(late["agreement"]["id"])), "on": "2026-01-20",
                                           "service_id": cw_agreement["service_id"]})
    stored = sandbox.record("connectwise", "additions", int(connectwise.execute(planned)))
    assert (stored["effectiveDate"], stored["cancelledDate"]) == ("2026-01-15T00:00:00Z", "2026-01-31T00:00:00Z")


def test_connectwise_addition_outside_the_agreement_dates(connectwise: Any, cw_agreement: dict[str, Any]) -> None:
    with pytest.raises(FatalApiError) as refused:
        connectwise.execute(op("add", "add-early", addition(cw_agreement, start="2025-12-01")))
    assert refused.value.code == CONTRACT_DATE_OUTSIDE and refused.value.system == "connectwise"
    assert "2025-12-01" in str(refused.value) and "2026-01-01" in str(refused.value)
    with pytest.raises(FatalApiError) as other:  # cancelled before effective: refused, but not for the dates
        connectwise.execute(op("add", "add-odd", addition(cw_agreement, end="2026-02-01")))
    assert other.value.code != CONTRACT_DATE_OUTSIDE
