"""The real Airflow path: `channelsync sync` runs the generated DAG through dag.test() against the sandbox.

Runs the CLI in a subprocess with its own AIRFLOW_HOME (metadata DB migrated, sandbox connections and
pools loaded from airflow_settings.yaml), as a user would. A set-up step left out is one line on stderr
naming the fix, exit code 2 (`--debug` adds the traceback).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.e2e.conftest import writes

pytestmark = pytest.mark.airflow
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / args[0]), *args[1:]], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def _env(tmp_path: Path, *, airflow_db: Path | None = None) -> dict[str, str]:
    """A user's environment with its own AIRFLOW_HOME and CHANNELSYNC_HOME; ``airflow_db``: a migrated
    metadata database to start from (a copy), else none (Airflow's database not set up)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "CHANNELSYNC_"))}
    env.update(
        AIRFLOW_HOME=str(tmp_path / "airflow"), CHANNELSYNC_HOME=str(tmp_path / "channelsync"),
        CHANNELSYNC_CONFIG=str(ROOT / "config" / "integrations.yaml"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PATH=f"{BIN}:{env.get('PATH', '')}",
    )
    if airflow_db is not None:
        (tmp_path / "airflow").mkdir(parents=True, exist_ok=True)
        shutil.copy(airflow_db, tmp_path / "airflow" / "airflow.db")
    return env


def _ok(env: dict[str, str], *args: str) -> None:
    result = _cli(env, *args)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.fixture(scope="module")
def migrated_airflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`airflow db migrate` once per module (~10 s); each test copies the database."""
    home = tmp_path_factory.mktemp("migrated")
    _ok(_env(home), "airflow", "db", "migrate")
    return home / "airflow" / "airflow.db"


@pytest.fixture()
def airflow_env(tmp_path: Path, sandbox_server: SandboxServer, migrated_airflow_db: Path) -> dict[str, str]:
    env = _env(tmp_path, airflow_db=migrated_airflow_db)
    _ok(env, "channelsync", "db", "upgrade")
    _ok(env, "channelsync", "airflow", "load-settings", "--sandbox-url", sandbox_server.url)
    return env


def _summary(stdout: str) -> dict[str, object]:
    start = stdout.index("{\n")
    end = stdout.index("\n}", start) + 2
    return json.loads(stdout[start:end])


def test_sync_cli_runs_the_dag_preview_then_for_real(airflow_env: dict[str, str], sandbox: SandboxControl) -> None:
    preview = _cli(airflow_env, "channelsync", "sync", "catalog_sync", "--integration", "demo-connectwise", "--preview")
    assert preview.returncode == 0, preview.stdout[-3000:] + preview.stderr[-3000:]
    summary = _summary(preview.stdout)
    assert summary["dag_run_state"] == "success" and summary["status"] == "preview"
    assert "preview: first" in preview.stdout and "create" in preview.stdout
    assert writes(sandbox, "connectwise") == [], "a preview must not write to the PSA"

    real = _cli(airflow_env, "channelsync", "sync", "catalog_sync", "--integration", "demo-connectwise")
    assert real.returncode == 0, real.stdout[-3000:] + real.stderr[-3000:]
    summary = _summary(real.stdout)
    assert summary["status"] == "success", summary
    counts = summary["counts"]
    assert isinstance(counts, dict) and counts.get("created", 0) > 0 and not counts.get("failed")

    status = _cli(airflow_env, "channelsync", "status")
    assert status.returncode == 0 and "Success" in status.stdout and "Preview" in status.stdout


def test_failed_run_exits_non_zero_and_records_the_error(airflow_env: dict[str, str], sandbox: SandboxControl) -> None:
    sandbox.set_faults({"kind": "status", "system": "tdsynnex", "status": 401, "path": "ftp"})
    result = _cli(airflow_env, "channelsync", "sync", "catalog_sync", "--integration", "demo-autotask")
    assert result.returncode == 1
    summary = _summary(result.stdout)
    assert summary["status"] == "failure" and "extract" in str(summary["error"]), summary


# --- a set-up step left out: one line on stderr naming the fix, exit code 2 --------------------------

SYNC = ("channelsync", "sync", "catalog_sync", "--integration", "demo-autotask")


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("error: "), lines
    return lines[0]


def test_airflow_metadata_not_migrated(tmp_path: Path) -> None:
    line = _one_line_error(_cli(_env(tmp_path), *SYNC))
    assert "Airflow's metadata database" in line and "is not set up" in line, line
    assert "airflow db migrate" in line and str(tmp_path / "airflow") in line, line


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = _cli(_env(tmp_path), *SYNC, "--debug")
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == _one_line_error(_cli(_env(tmp_path), *SYNC))
    before = _cli(_env(tmp_path), "channelsync", "--debug", *SYNC[1:])  # --debug before the command too
    assert before.returncode == 2 and "Traceback (most recent call last)" in before.stderr


def test_env_sh_not_sourced_says_so(tmp_path: Path) -> None:
    """The new user's case: no AIRFLOW_HOME, so Airflow uses ~/airflow, which was never migrated."""
    env = _env(tmp_path)
    for name in ("AIRFLOW_HOME", "CHANNELSYNC_HOME"):
        env.pop(name)
    env["HOME"] = str(tmp_path / "home")
    line = _one_line_error(_cli(env, *SYNC))
    assert "AIRFLOW_HOME is not set" in line and "source scripts/env.sh" in line, line
    assert "airflow db migrate" in line, line


def test_state_store_not_set_up(tmp_path: Path, migrated_airflow_db: Path) -> None:
    line = _one_line_error(_cli(_env(tmp_path, airflow_db=migrated_airflow_db), *SYNC))
    assert "state store" in line and "channelsync db upgrade" in line, line


def test_connections_not_loaded(tmp_path: Path, migrated_airflow_db: Path) -> None:
    env = _env(tmp_path, airflow_db=migrated_airflow_db)
    _ok(env, "channelsync", "db", "upgrade")
    line = _one_line_error(_cli(env, *SYNC))
    assert "'sandbox_autotask'" in line and "is not defined" in line, line
    assert "channelsync airflow load-settings" in line, line


def test_sandbox_not_running(tmp_path: Path, migrated_airflow_db: Path) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _env(tmp_path, airflow_db=migrated_airflow_db)
    _ok(env, "channelsync", "db", "upgrade")
    _ok(env, "channelsync", "airflow", "load-settings", "--sandbox-url", f"http://127.0.0.1:{port}")
    line = _one_line_error(_cli(env, *SYNC))
    assert f"127.0.0.1:{port}" in line and "connection refused" in line, line
    assert "'sandbox_autotask'" in line and f"channelsync sandbox serve --port {port}" in line, line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("catalog_sync", "--integration", "nope"), "no integration 'nope'"),
        (("nope", "--integration", "demo-autotask"), "no template 'nope'"),
    ],
)
def test_unknown_integration_or_template(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    line = _one_line_error(_cli(_env(tmp_path), "channelsync", "sync", *args))
    assert expected in line and "channelsync config check" in line, line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("integrations: [\n  - name: x\n    psa: {system: autotask", "not valid YAML"),
        ("integrations:\n  - {name: x, psa: {system: halo, conn_id: a}, distributors: {}, templates: {}}\n",
         "integration 'x': psa.system"),
    ],
)
def test_bad_configuration_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "integrations.yaml"
    path.write_text(text)
    env = _env(tmp_path) | {"CHANNELSYNC_CONFIG": str(path)}
    line = _one_line_error(_cli(env, "channelsync", "sync", "catalog_sync", "--integration", "x"))
    assert str(path) in line and expected in line and "channelsync config check" in line, line
