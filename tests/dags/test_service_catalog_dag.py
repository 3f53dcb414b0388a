"""service_catalog_sync through the real DAG builder: the demo DAGs have the run shape and the PSA's pool, and
`channelsync sync` runs the generated DAG with Airflow's dag.test() against the sandbox (preview, then real)."""

from __future__ import annotations

import pytest

from channelsync.sandbox.control_client import SandboxControl
from tests.dags.test_dag_runs import _cli, _summary, airflow_env, migrated_airflow_db  # noqa: F401 (fixtures)
from tests.e2e.conftest import writes


def test_the_demo_service_catalog_dags_have_the_run_shape_and_the_psa_pool(dagbag) -> None:  # type: ignore[no-untyped-def]
    for integration, pool in (("demo-autotask", "autotask_api"), ("demo-connectwise", "connectwise_api")):
        dag = dagbag.dags[f"{integration}__service_catalog_sync"]
        assert [t.task_id for t in dag.topological_sort()] == ["extract", "validate", "reconcile", "load", "report"]
        assert (dag.get_task("load").pool, dag.get_task("reconcile").pool) == (pool, pool)
        assert "preview" in dag.params and "service_catalog_sync" in dag.tags


@pytest.mark.airflow
def test_sync_cli_runs_the_service_catalog_dag_preview_then_for_real(airflow_env: dict[str, str],  # noqa: F811
                                                                      sandbox: SandboxControl) -> None:
    args = ("channelsync", "sync", "service_catalog_sync", "--integration", "demo-connectwise")
    preview = _cli(airflow_env, *args, "--preview")
    assert preview.returncode == 0, preview.stdout[-3000:] + preview.stderr[-3000:]
    summary = _summary(preview.stdout)
    assert summary["dag_run_state"] == "success" and summary["status"] == "preview", summary
    assert writes(sandbox, "connectwise") == [], "a preview must not write to the PSA"

    real = _cli(airflow_env, *args)
    assert real.returncode == 0, real.stdout[-3000:] + real.stderr[-3000:]
    summary = _summary(real.stdout)
    assert summary["status"] == "success", summary
    assert summary["counts"] == {"created": 31}, summary  # the sandbox's 31 Pax8 price-list variants
    created = [w for w in writes(sandbox, "connectwise") if w["method"] == "POST"]
    assert len(created) == 31
