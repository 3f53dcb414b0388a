"""No secret anywhere (R4): the demo integrations' templates run the way a user runs them (``channelsync sync``
through dag.test, in a subprocess with its own AIRFLOW_HOME and the sandbox; the fixtures of
test_dag_runs.py), and every connection is tested the way the connection form's Test button does (so the
Ion refresh token rotates, twice, and Crayon / Pax8 issue bearer tokens). Then every task log (dag.test
sends them to the console: the commands' output; AIRFLOW_HOME/logs is searched too), every XCom value and
rendered template field (every table of Airflow's metadata DB, in fact: with a Fernet key the connection
table is encrypted), every table of the state store, every file under AIRFLOW_HOME and CHANNELSYNC_HOME
(SQLite files and WAL as raw bytes, staged Parquet also value by value) and all output are searched for
every secret of every connection in airflow_settings.yaml (also as HTTP Basic credentials) and every token
the sandbox issued (its Ion token tables, the Crayon / Pax8 emulators' token lists): 0 hits.

``test_the_scan_finds_a_planted_secret`` keeps the scan honest: a secret planted in each kind of place is
found.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from channelsync.config import load_config
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.dags.secret_scan import SecretScan, secrets_of_settings
from tests.dags.test_dag_runs import _cli, _env, migrated_airflow_db

pytestmark = pytest.mark.airflow
ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "airflow_settings.yaml"
__all__ = ["migrated_airflow_db"]  # the module-scoped fixture, re-used

# What a user does, in one process to spare the Airflow start-up per command: channelsync's own entry
# point (``channelsync db upgrade``, ``airflow load-settings``), every connection's Test as Airflow's API runs
# it for the form's button (Ion's twice: two rotations), then ``sync`` of each template and ``status``.
USER_SESSION = """
import json, os, sys
from channelsync.cli.main import main
commands = json.loads(sys.argv[1])
for command in commands[:2]:
    print("== channelsync", " ".join(command), flush=True)
    print("== exit", main(command), flush=True)
from airflow.models import Connection
from airflow.utils.session import create_session
with create_session() as session:
    stored = {c.conn_id: c for c in session.query(Connection)}
for conn_id in ["sandbox_autotask", "sandbox_connectwise", "sandbox_tdsynnex_xml", "sandbox_tdsynnex_ion",
                "sandbox_tdsynnex_ion", "sandbox_crayon", "sandbox_pax8"]:
    connection = stored[conn_id]  # as the API's test endpoint runs it: the connection in AIRFLOW_CONN_*
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = connection.get_uri()
    print("== test", conn_id, connection.test_connection(), flush=True)
for command in commands[2:]:
    print("== channelsync", " ".join(command), flush=True)
    print("== exit", main(command), flush=True)
"""


def _templates() -> list[tuple[str, str]]:
    """(template, integration) for every enabled template of the demo configuration."""
    config = load_config(ROOT / "config" / "integrations.yaml")
    return [(template, integration.name) for integration in config.integrations
            for template, spec in integration.templates.items() if spec.enabled]


def _issued_tokens(sandbox: SandboxControl, server: SandboxServer) -> dict[str, str]:
    """Every token the sandbox handed out: Ion refresh and access tokens (rotated ones included),
    Crayon and Pax8 bearer tokens."""
    issued: dict[str, str] = {}
    for row in sandbox.records("tdsynnex", "access_tokens"):
        issued[row["token"]] = "ion access token"
        issued[row["refreshToken"]] = "ion refresh token (rotated)"
    for row in sandbox.records("tdsynnex", "refresh_tokens"):
        issued[row["token"]] = "ion refresh token"
    for system in ("crayon", "pax8"):
        for token in getattr(server.app.emulators.get(system), "tokens", {}):
            issued[token] = f"{system} bearer token"
    return issued


def test_no_secret_in_logs_xcom_rendered_fields_state_store_or_output(
    tmp_path: Path, sandbox_server: SandboxServer, sandbox: SandboxControl, migrated_airflow_db: Path
) -> None:
    env = _env(tmp_path, airflow_db=migrated_airflow_db)
    env["AIRFLOW__CORE__FERNET_KEY"] = Fernet.generate_key().decode()  # connections and Ion tokens encrypted
    templates = _templates()
    assert len(templates) >= 4, templates
    commands = [["db", "upgrade"], ["airflow", "load-settings", "--sandbox-url", sandbox_server.url],
                *(["sync", template, "--integration", integration] for template, integration in templates),
                ["status"]]
    session = _cli(env, "python", "-c", USER_SESSION, json.dumps(commands))
    output = session.stdout + session.stderr
    assert session.returncode == 0, output[-5000:]
    exits = [line for line in session.stdout.splitlines() if line.startswith("== exit")]
    assert exits == ["== exit 0"] * len(commands), output[-5000:]
    tests = [line for line in session.stdout.splitlines() if line.startswith("== test")]
    assert len(tests) == 7 and all("(True, " in line for line in tests), tests

    scan = SecretScan(secrets_of_settings(SETTINGS))
    issued = _issued_tokens(sandbox, sandbox_server)
    kinds = set(issued.values())
    assert {"ion access token", "ion refresh token (rotated)", "crayon bearer token", "pax8 bearer token"} <= kinds
    for token, origin in issued.items():
        scan.add(token, origin)

    scan.text(output, "the commands' output", "cli output")
    airflow_home, channelsync_home = Path(env["AIRFLOW_HOME"]), Path(env["CHANNELSYNC_HOME"])
    # dag.test runs every task in this process and sends its log to the console (the output scanned above),
    # not to files: AIRFLOW_HOME/logs is searched too (scan.files), whatever a run leaves there.
    ended = output.count("[DAG TEST] end task")
    assert ended >= 5 * len(templates), f"only {ended} task logs in the output"
    metadata = scan.sqlite(airflow_home / "airflow.db", "airflow metadata")
    assert metadata["xcom"] > 0 and metadata["rendered_task_instance_fields"] > 0, metadata
    assert metadata["connection"] >= 6
    state = scan.sqlite(channelsync_home / "state.db", "state store")
    assert state["credential_state"] == 1 and state["sync_runs"] >= len(templates), state
    scan.files(airflow_home, "airflow home files")
    scan.files(channelsync_home, "channelsync home files")

    print(f"secret scan: {len(set(scan.secrets))} secret strings, {scan.searched} places searched, "
          f"{len(scan.hits)} hits")
    assert scan.hits == [], scan.hits[:20]


def test_the_scan_finds_a_planted_secret(tmp_path: Path) -> None:
    secrets = secrets_of_settings(SETTINGS)
    assert {"sandbox-secret-autotask", "CHANNELSYNCSANDBOX0000000001", "sandbox-private-cw", "sandbox-xml-pass",
            "sandbox-ion-refresh-0001", "crayon-sandbox-pass", "crayon-sandbox-secret",
            "pax8-sandbox-secret"} <= set(secrets)
    logs = tmp_path / "logs" / "dag_id=x" / "attempt=1.log"
    logs.parent.mkdir(parents=True)
    logs.write_text('{"event": "calling with secret sandbox-secret-autotask"}\n')
    database = tmp_path / "airflow.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE xcom (value TEXT)")
        connection.execute("INSERT INTO xcom VALUES (?)", ('{"token": "pax8-sandbox-secret"}',))
    import pandas as pd

    basic = base64.b64encode(b"channelsync+sandboxpublickey:sandbox-private-cw").decode()
    pd.DataFrame({"header": [f"Basic {basic}"] * 50}).to_parquet(tmp_path / "plan.parquet", compression="snappy")
    scan = SecretScan(dict(secrets))
    scan.add("ionrt-issued-by-the-sandbox", "ion refresh token")
    scan.text("refreshing with ionrt-issued-by-the-sandbox", "cli output")
    scan.sqlite(database, "airflow metadata")
    found_in_db = len(scan.hits)
    scan.database(f"sqlite:///{database}", "airflow metadata (SQLAlchemy)")  # the way PostgreSQL is searched
    assert len(scan.hits) == found_in_db + 1, scan.hits
    scan.files(tmp_path / "logs", "task logs")
    scan.files(tmp_path, "files")
    found = {origin for _, origin in scan.hits}
    assert {"sandbox_autotask.password", "sandbox_pax8.password", "ion refresh token"} <= found, scan.hits
    assert any(origin.startswith("sandbox_connectwise.basic") for origin in found), scan.hits
