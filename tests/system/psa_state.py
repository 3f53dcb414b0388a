"""The PSA state two runs are compared by, and the LocalExecutor-side reference run.

:func:`psa_state` reads every table of the Autotask and ConnectWise emulators and TD SYNNEX's order store
through the sandbox control API and normalises what legitimately differs between two runs of the same
DAGs on a fresh sandbox (seed 42, small):

- the times the emulators stamp on a write (creation, modification, submission, ``_info``);
- the sandbox's own address inside links;
- the ids the emulators hand out in the order writes arrive (three load threads, or two workers, arrive
  in any order): a row's own ``id`` is dropped and an Autotask ``productID`` becomes the product's SKU.

Everything else — every field channelsync writes — must be equal, row for row (a multiset per table).

:func:`reference_state` runs the same templates in the same order with the existing end-to-end runner
(``run_in_process``: the stage functions the DAG tasks call, in one process) on a fresh in-process sandbox
and a fresh SQLite state store.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from channelsync.config import load_config
from channelsync.connections import SettingsClientFactory, connections_from_settings
from channelsync.imports import load_object
from channelsync.runs.context import RunContext
from channelsync.runs.runner import run_in_process
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from channelsync.state.db import upgrade
from channelsync.templates.registry import TEMPLATES
from tests.system.in_process import environment

ROOT = Path(__file__).resolve().parents[2]
# The registry's order is the templates' natural one (catalog before prices before orders, services before
# billing): the system test runs them in it, one template at a time, so it grows with the templates.
TEMPLATE_ORDER = tuple(TEMPLATES)
PSA_SYSTEMS = ("autotask", "connectwise")
TDSYNNEX_TABLES = ("po_orders", "po_duplicates")
# Stamped by the emulators when a record is written (or seeded relative to the clock): not channelsync's data.
WRITE_TIMES = frozenset({"_info", "createDate", "createDateTime", "lastModifiedDate", "submitDateTime",
                         "dateEntered", "lastActivityDate", "lastTrackedModifiedDateTime", "PODatetime",
                         "receivedAt", "expiresAt"})

State = dict[str, list[str]]  # "system/table" → sorted canonical rows (JSON)


def enabled_runs(config_path: Path | None = None) -> list[tuple[str, str]]:
    """(template, integration) of every enabled template, templates in :data:`TEMPLATE_ORDER`."""
    config = load_config(config_path or ROOT / "config" / "integrations.yaml")
    return [(template, integration.name) for template in TEMPLATE_ORDER for integration in config.integrations
            if template in integration.templates and integration.templates[template].enabled]


def _canonical(value: Any, base_url: str) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v, base_url) for k, v in value.items() if k not in WRITE_TIMES}
    if isinstance(value, list):
        return [_canonical(v, base_url) for v in value]
    if isinstance(value, str):
        return value.replace(base_url, "{sandbox}")
    return value


def psa_state(control: SandboxControl, systems: Iterable[str] = PSA_SYSTEMS,
              tdsynnex_tables: Iterable[str] = TDSYNNEX_TABLES) -> State:
    """Every table of ``systems`` and TD SYNNEX's ``tdsynnex_tables``, normalised (the module docstring)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for system in systems:
        for table in control._call("GET", f"records/{system}")["tables"]:
            tables[f"{system}/{table}"] = control.records(system, table)
    for table in tdsynnex_tables:
        tables[f"tdsynnex/{table}"] = control.records("tdsynnex", table)
    skus = {row["id"]: row.get("sku") for row in tables.get("autotask/Products", [])}
    state: State = {}
    for name, rows in tables.items():
        canonical = []
        for row in rows:
            row = {k: v for k, v in row.items() if k != "id"}
            if name.startswith("autotask/") and row.get("productID") in skus:
                row["productID"] = f"sku:{skus[row['productID']]}"
            canonical.append(json.dumps(_canonical(row, control.base_url), sort_keys=True, default=str))
        state[name] = sorted(canonical)
    return state


def differences(actual: State, expected: State, *, limit: int = 3) -> dict[str, Any]:
    """Per table that differs: row counts and a few rows found only on either side."""
    found: dict[str, Any] = {}
    for name in sorted(set(actual) | set(expected)):
        mine, theirs = Counter(actual.get(name, [])), Counter(expected.get(name, []))
        if mine != theirs:
            found[name] = {"rows": (sum(mine.values()), sum(theirs.values())),
                           "only_here": list((mine - theirs).elements())[:limit],
                           "only_in_reference": list((theirs - mine).elements())[:limit]}
    return found


def reference_state(runs: list[tuple[str, str]], config_path: Path, systems: Iterable[str] = PSA_SYSTEMS,
                    tdsynnex_tables: Iterable[str] = TDSYNNEX_TABLES) -> tuple[State, list[dict[str, Any]]]:
    """``runs`` in order with the end-to-end runner on a fresh sandbox and state store: (PSA state, summaries).
    ``config_path``: the integrations file the profile runs (the same options; schedules do not matter here)."""
    config = load_config(config_path)
    summaries: list[dict[str, Any]] = []
    # A Fernet key of its own, as the profile has one: the state store's rotating credentials (Ion) are
    # encrypted with it, and without one channelsync refuses to store them (STATE_SECRET_KEY_MISSING).
    with tempfile.TemporaryDirectory(prefix="channelsync-reference-") as folder, environment(
            CHANNELSYNC_HOME=folder, CHANNELSYNC_STAGING_URL=None,
            AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode()):
        server = SandboxServer(host="127.0.0.1", port=0, scale="small", seed=42).start()
        try:
            url = f"sqlite:///{folder}/state.db"
            upgrade(url)
            connections = connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=server.url)
            for number, (template, name) in enumerate(runs):
                spec, integration = TEMPLATES[template], config.get(name)
                context = RunContext(
                    integration=integration, template=template,
                    options=spec.options_model.model_validate(integration.templates[template].options),
                    run_key=f"reference/{number}", state_url=url,
                    client_factory=SettingsClientFactory(connections, state_url=url),
                )
                summaries.append(run_in_process(context, load_object(spec.steps)()))
            return psa_state(SandboxControl(server.url), systems, tdsynnex_tables), summaries
        finally:
            server.stop()
