"""A template defined only in a test module runs through the real DAG builder and Airflow's dag.test(),
with its own outcome and operation map, and posts each line exactly once across runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.airflow
ROOT = Path(__file__).resolve().parents[2]

# An Airflow DAG file of its own: dag.test() parses the DAG folder, so the DAG must live in one.
DAG_FILE = textwrap.dedent("""
    # An Airflow DAG file (the DagBag only reads files that say so).
    import json
    from channelsync.config import IntegrationConfig, TemplateConfig
    from channelsync.templates.dag_builder import build_dag
    import os
    from tests.dags.posting_template import MAPPED_SPEC, SPEC

    spec = MAPPED_SPEC if os.environ.get("POSTING_MAPPED") else SPEC
    amounts = {"line-1": 10.0, "line-2": 20.0, "line-3": -5.0, "line-4": 7.0}
    options = {"amounts": amounts, "fail_partition": "line-2"} if spec is MAPPED_SPEC else {}
    integration = IntegrationConfig(name="acme", psa={"system": "autotask", "conn_id": "unused"}, distributors={},
                                    templates={spec.name: TemplateConfig(options=options)})
    dag = build_dag(integration, spec.name, integration.templates[spec.name])

    if __name__ == "__main__":
        from sqlalchemy import select
        from channelsync.state.db import session_scope, upgrade
        from channelsync.state.models import SyncItem, SyncRun

        upgrade()
        states = [str(dag.test(run_conf={"preview": False}).state) for _ in range(2)]
        with session_scope() as session:
            runs = [(r.status, r.counts) for r in session.scalars(select(SyncRun).order_by(SyncRun.id))]
            items = sorted((i.run_id, i.source_key, i.stage, i.outcome, i.partition)
                           for i in session.scalars(select(SyncItem)))
        print(json.dumps({"states": states, "runs": runs, "items": items}))
""")


def _run_dag_file(tmp_path: Path, **extra_env: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "CHANNELSYNC_"))}
    env.update(extra_env)
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow"), CHANNELSYNC_HOME=str(tmp_path / "cs"),
               CHANNELSYNC_STATE_URL=f"sqlite:///{tmp_path / 'state.db'}", POSTING_LOG=str(tmp_path / "sent.log"),
               AIRFLOW__CORE__LOAD_EXAMPLES="False", PYTHONPATH=str(ROOT),
               AIRFLOW__CORE__DAGS_FOLDER=str(tmp_path / "dags"))
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "posting_dag.py").write_text(DAG_FILE)
    bin_dir = Path(sys.executable).parent
    migrate = subprocess.run([str(bin_dir / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True,
                             timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    result = subprocess.run([sys.executable, str(tmp_path / "dags" / "posting_dag.py")], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def test_a_template_from_a_test_module_runs_through_the_dag_builder(tmp_path: Path) -> None:
    report = _run_dag_file(tmp_path)
    assert report["states"] == ["success", "success"]
    # Run 1 posts the two good lines (the negative one is quarantined); run 2 finds them posted.
    assert [status for status, _ in report["runs"]] == ["warning", "warning"]
    assert report["runs"][0][1] == {"posted": 2, "quarantined": 1}
    assert report["runs"][1][1] == {"unchanged": 2, "quarantined": 1}
    assert [tuple(i) for i in report["items"]][:3] == [
        (1, "line-1", "load", "posted", None), (1, "line-2", "load", "posted", None),
        (1, "line-3", "validate", "quarantined", None)]
    assert sorted((tmp_path / "sent.log").read_text().split()) == ["line-1", "line-2"]


def test_a_mapped_load_fails_one_partition_alone_and_the_run_reflects_it(tmp_path: Path) -> None:
    """One load task instance per line: line-2's fails as a whole, the others post; the run is a Failure
    (one partition did not load) and a second run posts nothing twice."""
    report = _run_dag_file(tmp_path, POSTING_MAPPED="1")
    assert report["states"] == ["failed", "failed"]
    assert [status for status, _ in report["runs"]] == ["failure", "failure"]
    assert report["runs"][0][1] == {"posted": 2, "quarantined": 1}
    assert report["runs"][1][1] == {"unchanged": 2, "quarantined": 1}
    loads = sorted((i[1], i[3], i[4]) for i in report["items"] if i[0] == 1 and i[2] == "load")
    assert loads == [("line-1", "posted", "line-1"), ("line-4", "posted", "line-4")]
    assert sorted((tmp_path / "sent.log").read_text().split()) == ["line-1", "line-4"]
