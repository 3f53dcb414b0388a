"""``channelsync mapping …`` end to end: the command line, the integrations file, Airflow connections (in
``AIRFLOW_CONN_*``), the hooks and clients, the sandbox over loopback and the state store. Expected
companies and contracts are read from the emulators' own records, not from the code under test."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from channelsync.canonical.billing import INVOICE_LINE
from channelsync.cli.main import main
from channelsync.connections import connections_from_settings
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.e2e.conftest import last_seq, writes

ROOT = Path(__file__).resolve().parents[2]
ON = "2026-06-01"  # inside the seeded contracts' dates (2025-01-01 – 2027-12-31), whatever today is
RECURRING_SERVICE, TIME_AND_MATERIALS = 7, 1

Cli = Callable[..., tuple[int, str, str]]


def _integration(name: str, psa: str, conn_id: str, distributors: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "psa": {"system": psa, "conn_id": conn_id}, "templates": {},
            "distributors": distributors or {"crayon": {"conn_id": "sandbox_crayon"},
                                             "pax8": {"conn_id": "sandbox_pax8"}}}


@pytest.fixture()
def cli(sandbox: SandboxControl, sandbox_server: SandboxServer, state_store: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``channelsync …`` in this process, with the sandbox's connections as Airflow connections and an
    integrations file of CSP-billing integrations: two on one Autotask database, one on ConnectWise."""
    from airflow.models import Connection

    for fields in connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=sandbox_server.url).values():
        connection = Connection(conn_id=fields.conn_id, conn_type=fields.conn_type, host=fields.host,
                                login=fields.login, password=fields.password, extra=json.dumps(fields.extra_dejson))
        monkeypatch.setenv(f"AIRFLOW_CONN_{fields.conn_id.upper()}", connection.get_uri())
    config = tmp_path / "integrations.yaml"
    config.write_text(yaml.safe_dump({"integrations": [
        _integration("billing-at", "autotask", "sandbox_autotask"),
        _integration("billing-at-2", "autotask", "sandbox_autotask"),
        _integration("billing-cw", "connectwise", "sandbox_connectwise"),
        _integration("hardware-only", "autotask", "sandbox_autotask",
                     {"tdsynnex": {"xml_conn_id": "sandbox_tdsynnex_xml"}}),
    ]}))
    monkeypatch.setenv("CHANNELSYNC_CONFIG", str(config))

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _json(cli: Cli, *argv: str) -> Any:
    code, out, err = cli(*argv, "--json")
    assert code == 0, err
    return json.loads(out)


def _crayon_keys(sandbox: SandboxControl) -> dict[str, str]:
    """Crayon reference (the customer's key across systems) → mapping key."""
    return {t["reference"]: f"crayon:{t['organization']['id']}:{t['id']}"
            for t in _lower(sandbox.records("crayon", "customertenants"))}


def _pax8_keys(sandbox: SandboxControl) -> dict[str, str]:
    return {c["externalId"]: f"pax8:sandbox_pax8:{c['id']}" for c in sandbox.records("pax8", "companies")}


def _lower(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Emulator records in camelCase whatever casing the emulator stores (Crayon answers in PascalCase)."""
    def camel(value: Any) -> Any:
        if isinstance(value, dict):
            return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
        return value
    return [camel(r) for r in records]


def _autotask(sandbox: SandboxControl) -> tuple[dict[str, int], dict[int, list[dict[str, Any]]]]:
    """companyNumber → company id, and company id → its contracts."""
    companies = {c["companyNumber"]: c["id"] for c in sandbox.records("autotask", "Companies")
                 if c.get("companyNumber")}
    contracts: dict[int, list[dict[str, Any]]] = {}
    for contract in sandbox.records("autotask", "Contracts"):
        contracts.setdefault(contract["companyID"], []).append(contract)
    return companies, contracts


def _recurring(contracts: list[dict[str, Any]]) -> list[int]:
    return [c["id"] for c in contracts if c["contractType"] == RECURRING_SERVICE and c["status"] == 1]


@pytest.mark.parametrize("backend", [
    "sqlite",
    pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.state_backend("postgresql")]),
])
def test_suggest_proposes_and_only_named_keys_are_applied(cli: Cli, sandbox: SandboxControl, backend: str) -> None:
    companies, contracts = _autotask(sandbox)
    customers = {**_crayon_keys(sandbox), **_pax8_keys(sandbox)}
    in_psa = {key: companies[reference] for reference, key in customers.items() if reference in companies}
    assert {k.split(":")[0] for k in in_psa} == {"crayon", "pax8"} and len(in_psa) < len(customers)
    start = last_seq(sandbox)

    rows = _json(cli, "mapping", "suggest", "--integration", "billing-at", "--on", ON)
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        best.setdefault(row["key"], row)
    for key, company in in_psa.items():
        assert best[key]["psa_company_id"] == str(company), key
        assert best[key]["score"] >= 0.98 and "reference" in best[key]["reason"]
        assert best[key]["psa_contract_id"] == str(_recurring(contracts[company])[0])
    for key in set(customers.values()) - set(in_psa):  # not in the PSA: no confident suggestion
        assert key not in best or best[key]["score"] < 0.9, best[key]
    assert _json(cli, "mapping", "list", "--integration", "billing-at") == []  # suggesting saves nothing

    crayon_key = next(k for k in in_psa if k.startswith("crayon:"))
    pax8_key = next(k for k in in_psa if k.startswith("pax8:"))
    code, out, err = cli("mapping", "suggest", "--integration", "billing-at", "--on", ON, "--apply", crayon_key,
                         pax8_key, "--by", "alice")
    assert code == 0, err
    assert out.count("created: ") == 2
    listed = {m["key"]: m for m in _json(cli, "mapping", "list", "--integration", "billing-at")}
    assert set(listed) == {crayon_key, pax8_key}
    for key, mapping in listed.items():
        company = in_psa[key]
        assert (mapping["psa_company_id"], mapping["psa_contract_id"], mapping["sync_enabled"],
                mapping["updated_by"]) == (str(company), str(_recurring(contracts[company])[0]), True, "alice")
        assert mapping["psa_tenant"].startswith("autotask:")
    remaining = {row["key"] for row in _json(cli, "mapping", "suggest", "--integration", "billing-at", "--on", ON)}
    assert crayon_key not in remaining and pax8_key not in remaining and remaining
    history = _json(cli, "mapping", "history", "--integration", "billing-at")
    assert sorted((h["key"], h["action"], h["changed_by"]) for h in history) == sorted(
        [(crayon_key, "create", "alice"), (pax8_key, "create", "alice")])
    assert _json(cli, "mapping", "list", "--integration", "billing-at-2") == []  # per integration

    code, _, err = cli("mapping", "suggest", "--integration", "billing-at", "--on", ON, "--apply", "crayon:4401:1")
    assert code == 2 and err.count("\n") == 1 and "no suggestion for crayon:4401:1" in err
    for system in ("autotask", "crayon", "pax8"):  # reading only (a token request is not a write)
        assert [w for w in writes(sandbox, system, since=start) if not w["path"].endswith("/token")] == [], system


def test_set_checks_the_company_contract_and_customer_in_the_psa(cli: Cli, sandbox: SandboxControl) -> None:
    companies, contracts = _autotask(sandbox)
    crayon = _crayon_keys(sandbox)
    # A Crayon customer whose company also has a Time & Materials contract (seeded for every 4th customer).
    reference = next(r for r in sorted(crayon) if r in companies and any(
        c["contractType"] == TIME_AND_MATERIALS for c in contracts[companies[r]]))
    key, company = crayon[reference], companies[reference]
    (recurring,) = _recurring(contracts[company])
    t_and_m = next(c["id"] for c in contracts[company] if c["contractType"] == TIME_AND_MATERIALS)
    other_company = next(c for r, c in companies.items() if c != company)
    other_contract = _recurring(contracts[other_company])[0]
    inactive = sandbox.create_record("autotask", "Contracts", {
        **next(c for c in contracts[company] if c["id"] == recurring), "id": None, "status": 0,
        "contractName": "Old licensing (inactive)"})["id"]
    base = ("mapping", "set", "--integration", "billing-at", key, "--company", str(company), "--on", ON)

    def refused(*extra: str) -> str:
        code, out, err = cli(*base, *extra)
        assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("error: "), (code, out, err)
        return err

    line = refused("--contract", str(t_and_m))
    assert "Time & Materials" in line and "Recurring Service" in line and f"{recurring} (" in line
    line = refused("--contract", str(inactive))
    assert f"contract {inactive}" in line and f"not active on {ON}" in line and "Inactive" in line
    line = refused("--contract", str(other_contract))
    assert f"belongs to company {other_company}, not {company}" in line
    code, _, err = cli(*base[:-2], "--contract", str(recurring), "--on", "2028-06-01")
    assert code == 2 and "not active on 2028-06-01" in err
    code, _, err = cli("mapping", "set", "--integration", "billing-at", key, "--company", "987654", "--on", ON)
    assert code == 2 and "Autotask has no company 987654" in err
    _, account, customer_id = key.split(":")
    code, _, err = cli("mapping", "set", "--integration", "billing-at", f"crayon:{account}:999", "--company",
                       str(company), "--on", ON)
    assert code == 2 and "crayon has no customer 999" in err
    code, _, err = cli("mapping", "set", "--integration", "billing-at", f"crayon:1:{customer_id}", "--company",
                       str(company), "--on", ON)
    assert code == 2 and f"bills no crayon account '1' (its accounts: crayon:{account}" in err
    code, _, err = cli("mapping", "set", "--integration", "billing-at", f"tdsynnex:1:{customer_id}", "--company",
                       str(company))
    assert code == 2 and "has no distributor 'tdsynnex'" in err
    assert _json(cli, "mapping", "history", "--integration", "billing-at") == []  # nothing saved by a refusal

    code, out, err = cli(*base)  # no --contract: the company's only active Recurring Service contract
    assert code == 0, err
    assert out.startswith(f"created: {key}") and f"contract {recurring} (" in out
    (saved,) = _json(cli, "mapping", "list", "--integration", "billing-at")
    assert (saved["psa_contract_id"], saved["updated_by"]) == (str(recurring), getpass.getuser())
    assert saved["customer_name"]  # as the distributor names it
    code, out, _ = cli(*base, "--contract", str(recurring))
    assert code == 0 and out.startswith("unchanged: ")

    assert cli("mapping", "disable", "--integration", "billing-at", key, "--by", "bob")[0] == 0
    code, out, _ = cli("mapping", "list", "--integration", "billing-at")
    assert code == 0 and key in out and " off " in out
    assert cli("mapping", "enable", "--integration", "billing-at", key, "--by", "carol")[0] == 0
    assert cli("mapping", "remove", "--integration", "billing-at", key, "--by", "dave")[0] == 0
    code, _, err = cli("mapping", "remove", "--integration", "billing-at", key)
    assert code == 2 and "has no mapping for customer" in err
    history = _json(cli, "mapping", "history", "--integration", "billing-at", key)
    assert [(h["action"], h["changed_by"]) for h in history] == [
        ("create", getpass.getuser()), ("disable", "bob"), ("enable", "carol"), ("remove", "dave")]
    assert history[-1]["after"] is None and history[-1]["before"]["psa_contract_id"] == str(recurring)
    code, out, _ = cli("mapping", "history", "--integration", "billing-at", key)
    assert code == 0 and "sync_enabled: True → False" in out


def test_connectwise_agreements_must_be_recurring_and_active(cli: Cli, sandbox: SandboxControl) -> None:
    crayon = _crayon_keys(sandbox)
    cw_companies = {c["accountNumber"]: c for c in sandbox.records("connectwise", "companies")
                    if c.get("accountNumber")}
    reference = next(r for r in sorted(crayon) if r in cw_companies)
    key, company = crayon[reference], cw_companies[reference]
    agreements = [a for a in sandbox.records("connectwise", "agreements") if a["company"]["id"] == company["id"]]
    active = [a for a in agreements if not a.get("cancelledFlag")]
    template = {k: v for k, v in active[0].items() if k not in ("id", "_info")}
    cancelled = sandbox.create_record("connectwise", "agreements", {
        **template, "name": "Microsoft 365 (cancelled)", "cancelledFlag": True, "agreementStatus": "Cancelled",
        "dateCancelled": "2025-06-30T00:00:00Z"})["id"]
    one_time = sandbox.create_record("connectwise", "agreements", {
        **template, "name": "Project (one time)", "oneTimeFlag": True})["id"]
    base = ("mapping", "set", "--integration", "billing-cw", key, "--company", str(company["id"]), "--on", ON)

    code, _, err = cli(*base, "--contract", str(cancelled))
    assert code == 2 and f"agreement {cancelled}" in err and f"not active on {ON}" in err
    code, _, err = cli(*base, "--contract", str(one_time))
    assert code == 2 and "not a recurring agreement" in err
    if len(active) > 1:
        code, _, err = cli(*base)
        assert code == 2 and "pass --contract" in err and all(str(a["id"]) in err for a in active)
    code, out, err = cli(*base, "--contract", str(active[0]["id"]))
    assert code == 0 and f"agreement {active[0]['id']}" in out, err
    (saved,) = _json(cli, "mapping", "list", "--integration", "billing-cw")
    assert saved["psa_contract_id"] == str(active[0]["id"]) and saved["psa_tenant"].startswith("connectwise:")


def test_unmapped_customers_and_invoice_lines(cli: Cli, sandbox: SandboxControl, tmp_path: Path) -> None:
    companies, _ = _autotask(sandbox)
    crayon = _crayon_keys(sandbox)
    reference = next(r for r in sorted(crayon) if r in companies)
    mapped_key, company = crayon[reference], companies[reference]
    assert cli("mapping", "set", "--integration", "billing-at", mapped_key, "--company", str(company),
               "--on", ON)[0] == 0
    listed = {row["key"]: row["reason"] for row in _json(cli, "mapping", "unmapped", "--integration", "billing-at")}
    assert set(listed) == (set(crayon.values()) | set(_pax8_keys(sandbox).values())) - {mapped_key}
    assert set(listed.values()) == {"no mapping"}

    _, account, mapped_id = mapped_key.split(":")
    unmapped_key = next(k for k in sorted(listed) if k.startswith("crayon:"))
    unmapped_id = unmapped_key.split(":")[2]
    rows = []
    for n, (customer_id, price, cost) in enumerate([(mapped_id, 100.0, 80.0), (unmapped_id, 40.0, 30.0),
                                                   (unmapped_id, 2.5, 2.0), (unmapped_id, -0.5, -0.4)]):
        row: dict[str, Any] = {column: None for column in INVOICE_LINE}
        row.update(source_key=f"crayon:{account}:1:{n}", distributor="crayon", account=account, invoice_id="1",
                   line_id=str(n), customer_id=customer_id, customer_name=f"Customer {customer_id}",
                   price_total=price, cost_total=cost, currency="USD")
        rows.append(row)
    lines = tmp_path / "lines.parquet"
    pd.DataFrame(rows).astype(INVOICE_LINE).to_parquet(lines)
    (report,) = _json(cli, "mapping", "unmapped", "--integration", "billing-at", "--lines", str(lines))
    assert (report["key"], report["lines"], report["price_total"], report["cost_total"], report["reason"]) == (
        unmapped_key, 3, 42.0, 31.6, "no mapping")
    code, out, _ = cli("mapping", "unmapped", "--integration", "billing-at", "--lines", str(lines))
    assert code == 0 and unmapped_key in out and "42.00" in out and mapped_key not in out


def test_a_customer_mapped_by_two_integrations_on_one_psa_is_reported(cli: Cli, sandbox: SandboxControl) -> None:
    companies, contracts = _autotask(sandbox)
    pax8 = _pax8_keys(sandbox)
    reference = next(r for r in sorted(pax8) if r in companies)
    key, company = pax8[reference], companies[reference]
    (first,) = _recurring(contracts[company])
    second = sandbox.create_record("autotask", "Contracts", {
        **next(c for c in contracts[company] if c["id"] == first), "id": None,
        "contractName": "Second recurring contract"})["id"]
    code, _, err = cli("mapping", "set", "--integration", "billing-at", key, "--company", str(company), "--contract",
                       str(first), "--on", ON)
    assert code == 0 and err == ""
    code, _, err = cli("mapping", "set", "--integration", "billing-at-2", key, "--company", str(company),
                       "--contract", str(second), "--on", ON)
    assert code == 0
    assert "warning: integration billing-at on the same PSA also maps" in err and f"contract {first}" in err


def test_command_line_mistakes_are_one_line(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def one_line(*argv: str) -> str:
        code, out, err = cli(*argv)
        assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("error: "), (code, out, err)
        return err

    assert "no integration 'nope'" in one_line("mapping", "list", "--integration", "nope")
    assert "not a customer key" in one_line("mapping", "enable", "--integration", "billing-at", "crayon-1")
    assert "has no Crayon or Pax8 distributor" in one_line("mapping", "suggest", "--integration", "hardware-only")
    monkeypatch.delenv("AIRFLOW_CONN_SANDBOX_PAX8")
    # Whatever this machine's Airflow metadata database holds (a demo loads the sandbox connections there).
    monkeypatch.setattr("channelsync.hooks.base._from_metadata_database", lambda conn_id: None)
    assert "'sandbox_pax8'" in one_line("mapping", "unmapped", "--integration", "billing-at")
    monkeypatch.setenv("CHANNELSYNC_STATE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert "channelsync db upgrade" in one_line("mapping", "list", "--integration", "billing-at")
    assert os.environ["CHANNELSYNC_CONFIG"].endswith("integrations.yaml")
