"""The real Airflow path: `channelsync sync` runs the generated DAG through dag.test() against the sandbox.

Runs the CLI in a subprocess with its own AIRFLOW_HOME (metadata DB migrated, sandbox connections and
pools loaded from airflow_settings.yaml), as a user would.
"""

from __future__ import annotations

import json
import os
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


@pytest.fixture()
def airflow_env(tmp_path: Path, sandbox_server: SandboxServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "CHANNELSYNC_"))}
    env.update(
        AIRFLOW_HOME=str(tmp_path / "airflow"), CHANNELSYNC_HOME=str(tmp_path / "channelsync"),
        CHANNELSYNC_CONFIG=str(ROOT / "config" / "integrations.yaml"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PATH=f"{BIN}:{env.get('PATH', '')}",
    )
    for step in (("airflow", "db", "migrate"), ("channelsync", "db", "upgrade"),
                 ("channelsync", "airflow", "load-settings", "--sandbox-url", sandbox_server.url)):
        result = _cli(env, *step)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
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
