"""Every DAG obeys the project's policy (docs/architecture.md §Conventions item 1, issue 2 §6)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.dags.conftest import DAGS_FOLDER, DEMO_CONFIG


def test_no_import_errors_and_every_demo_dag_present(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {
        "demo-autotask__catalog_sync", "demo-autotask__price_availability", "demo-autotask__submit_orders",
        "demo-autotask__order_status", "demo-connectwise__catalog_sync", "demo-connectwise__price_availability",
        "demo-connectwise__submit_orders", "demo-connectwise__order_status", "channelsync_maintenance",
        "demo-autotask__service_catalog_sync", "demo-connectwise__service_catalog_sync",
        "demo-autotask__subscription_billing", "demo-connectwise__subscription_billing",
        "demo-autotask__subscription_billing__watcher", "demo-connectwise__subscription_billing__watcher",
        "demo-autotask__health", "demo-connectwise__health",
    }


def test_policy_tags_owner_retries_callbacks_and_one_active_run(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and "channelsync" in dag.tags, dag_id
        assert dag.max_active_runs == 1, dag_id
        assert dag.on_failure_callback, dag_id
        assert dag.doc_md, dag_id
        assert dag.start_date is not None and dag.start_date.tzinfo is not None, dag_id
        assert "preview" in dag.params or dag_id == "channelsync_maintenance", dag_id
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", (dag_id, task.task_id)
            assert task.on_failure_callback, (dag_id, task.task_id)
            if task.task_id != "report":  # the report closes the run once, after everything else
                assert task.retries >= 2, (dag_id, task.task_id)


def test_run_shape_and_psa_pool(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["demo-connectwise__catalog_sync"]
    assert [t.task_id for t in dag.topological_sort()] == ["extract", "validate", "reconcile", "load", "report"]
    assert dag.get_task("load").pool == "connectwise_api"
    # Pool slots equal the calls a task has in flight: load runs ``load.concurrency`` threads.
    assert dag.get_task("load").pool_slots == 3
    assert (dag.get_task("reconcile").pool, dag.get_task("reconcile").pool_slots) == ("connectwise_api", 1)
    # catalog_sync announces its successful runs as an asset others may be scheduled on.
    assert [outlet.uri for outlet in dag.get_task("report").outlets] == ["channelsync://demo-connectwise/catalog_sync"]
    assert str(dag.get_task("report").trigger_rule) in ("all_done", "TriggerRule.ALL_DONE")


def test_parsing_does_no_io_and_imports_no_heavy_modules() -> None:
    """Parse the DAG file in a fresh interpreter with sockets forbidden; pandas and GX must stay unimported."""
    script = textwrap.dedent(
        f"""
        import json, os, socket, sys
        os.environ["CHANNELSYNC_CONFIG"] = {str(DEMO_CONFIG)!r}
        def forbidden(*a, **k):
            raise RuntimeError("network access at DAG parse time")
        socket.socket.connect = forbidden
        socket.create_connection = forbidden
        import runpy
        namespace = runpy.run_path({str(DAGS_FOLDER / "channelsync_integrations.py")!r})
        # (sqlalchemy is not listed: airflow.sdk itself imports it)
        heavy = [m for m in ("pandas", "great_expectations", "pyarrow", "requests", "channelsync.state.db")
                 if m in sys.modules]
        print(json.dumps({{"dags": sorted(k for k, v in namespace.items() if type(v).__name__ == "DAG"),
                           "heavy": heavy}}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["dags"]) == 16
    assert report["heavy"] == [], f"imported at parse time: {report['heavy']}"
