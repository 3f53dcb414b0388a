"""The fault matrix (issue 13, R6): every landed template on both demo integrations, under 10 % 429 with
Retry-After, 5 % 5xx, 2 % timeouts and 1 % answers lost after the write, on every emulated system, ends —
rerun until it settles, at most ``MAX_RUNS`` runs — with the sandbox identical, record by record, to what
one fault-free run leaves (PSA records; for orders TD SYNNEX's order store), having made no more write
calls than the fault-free run plus one per write call a fault hit (plus, per rerun, the writes the target
refuses fault-free too: the seed's hand-made Autotask service clash); one more run then writes nothing
but that refused retry.

How a cell is run and compared is in ``tests/e2e/fault_matrix_cases.py``; ``benchmarks/fault_matrix.py``
prints the whole matrix as a table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.e2e.fault_matrix_cases import (
    INTEGRATIONS,
    LABELS,
    MAX_RUNS,
    TEMPLATES_IN_MATRIX,
    differences,
    measure,
    snapshot,
)


@pytest.fixture()
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each world points CHANNELSYNC_HOME / CHANNELSYNC_STATE_URL at its own folder; restored afterwards."""
    monkeypatch.setenv("CHANNELSYNC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CHANNELSYNC_STATE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    return tmp_path


@pytest.mark.parametrize("integration", INTEGRATIONS)
@pytest.mark.parametrize("template", TEMPLATES_IN_MATRIX)
def test_fault_mix_ends_identical_to_a_fault_free_run(
    sandbox_server: SandboxServer, isolated_env: Path, template: str, integration: str
) -> None:
    cell = measure(sandbox_server.url, isolated_env, template, integration)

    print(f"\n{template} × {integration}: {len(cell.runs)} run(s), write calls {cell.writes} with faults vs "
          f"{cell.clean_writes} fault-free ({cell.write_faults} hit by a fault); faults fired "
          f"{dict(cell.fired)} over {cell.requests} requests, per system {cell.fired_by_system}")
    for number, run in enumerate(cell.runs, 1):
        print(f"  run {number}: {run['status']:<10} {run['counts']}")

    assert cell.settled, f"still not settled after {MAX_RUNS} runs: {cell.runs[-1]}"
    assert cell.identical, "the sandbox differs from the fault-free run's:\n" + "\n".join(cell.diff)
    assert cell.writes <= cell.write_bound, (
        f"{cell.writes} write calls: more than the fault-free {cell.clean_writes} plus the {cell.write_faults} "
        f"a fault hit plus {cell.refused} refused per rerun (a write sent twice)")
    assert cell.quiet_after, (cell.writes_after, cell.after)


def test_the_comparison_sees_a_doubled_a_changed_and_a_lost_record_but_not_a_new_id(
    sandbox: SandboxControl,
) -> None:
    before = snapshot(sandbox)
    item = sandbox.records("connectwise", "catalogItems")[0]
    copy = {k: v for k, v in item.items() if k not in ("id", "_info")}
    sandbox.create_record("connectwise", "catalogItems", copy)
    sandbox.delete_record("connectwise", "catalogItems", item["id"])
    assert differences(before, snapshot(sandbox)) == []  # the same record under another id

    product = sandbox.records("autotask", "Products")[0]
    sandbox.create_record("autotask", "Products", {k: v for k, v in product.items() if k != "id"})
    (doubled,) = differences(before, snapshot(sandbox))
    label = dict(LABELS["autotask"])["Products"](product)
    assert doubled == f"autotask.Products {label}: 1 record(s) expected, 2 found"

    sku = sandbox.records("tdsynnex", "products")[0]["synnexSKU"]
    sandbox.edit_record("tdsynnex", "products", sku, {"price": "1.00"})
    other = sandbox.records("pax8", "products")[0]
    sandbox.delete_record("pax8", "products", other["id"])
    found = differences(before, snapshot(sandbox))
    assert any(line.startswith(f"tdsynnex.products {sku}: price=") for line in found), found
    assert f"pax8.products {other['id']}: 1 record(s) expected, 0 found" in found, found
