"""The production profile end to end (issue 13): the demo integrations' DAGs — every enabled template of both
PSAs — triggered through Airflow's REST API and run by the real scheduler on two Celery workers
(PostgreSQL metadata and state store, Redis broker, staging on a shared file:// root). Every run ends
success, both workers ran tasks, and the PSA state (every table of both PSA emulators and TD SYNNEX's
order store, normalised: tests/system/psa_state.py) is the one the same templates leave when run in order
by the end-to-end runner on a fresh sandbox. The runs' outcomes (status and counts) are the same too.

Templates run in their natural order (catalog_sync, price_availability, submit_orders, order_status), the
two PSAs' DAGs of a template at the same time, as a schedule would have them. (The profile's extra Autotask
integration, demo-autotask-twin, is the limits test's: not run here.)

Then no secret anywhere (tests/system/secret_sweep.py): every task log of both workers, every file of the
profile, every table of Airflow's metadata database (XCom, rendered template fields …) and of the state
store, the plugin's pages and JSON answers, the alert e-mails: no secret of any connection, 0 hits.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from channelsync.sandbox.control_client import SandboxControl
from channelsync.templates.dag_builder import dag_id_for
from tests.e2e.smtp_sink import Sink
from tests.system.airflow_api import AirflowApi
from tests.system.conftest import REDIS_URL, redis_answers
from tests.system.profile import DEMO_INTEGRATIONS, SCRIPT, CeleryProfile, free_ports
from tests.system.psa_state import TEMPLATE_ORDER, differences, enabled_runs, psa_state, reference_state
from tests.system.secret_sweep import sweep
from tests.system.state_probe import ledger_by_status, sync_runs, unsettled_operations

pytestmark = pytest.mark.airflow
STAGE_TIMEOUT_S = 240


def _failed_tasks(api: AirflowApi, dag_id: str, run_id: str) -> dict[str, Any]:
    return {f"{ti['task_id']}[{ti['map_index']}]": (ti["state"], ti["try_number"])
            for ti in api.task_instances(dag_id, run_id) if ti["state"] != "success"}


@pytest.mark.timeout(900)
def test_demo_dags_on_celery_end_in_success_with_the_psa_state_of_the_local_run_and_no_secret_anywhere(
    celery_profile: CeleryProfile, profile_sandbox: SandboxControl, airflow_api: AirflowApi, profile_mail: Sink
) -> None:
    celery_profile.reset_state_store()
    runs = [(template, name) for template, name in enabled_runs(celery_profile.config_path)
            if name in DEMO_INTEGRATIONS]
    assert len(runs) >= 4, runs
    airflow_api.wait_for_dags([dag_id_for(integration, template) for template, integration in runs])
    for template, integration in runs:
        airflow_api.unpause(dag_id_for(integration, template))

    prefix = f"system__{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    stage_seconds: dict[str, float] = {}
    finished: dict[tuple[str, str], dict[str, Any]] = {}
    for template in TEMPLATE_ORDER:
        stage = [(dag_id_for(integration, t), f"{prefix}__{t}") for t, integration in runs if t == template]
        if not stage:
            continue
        stage_started = time.monotonic()
        for dag_id, run_id in stage:
            airflow_api.trigger(dag_id, run_id)
        finished.update(airflow_api.wait_for_runs(stage, timeout_s=STAGE_TIMEOUT_S))
        stage_seconds[template] = round(time.monotonic() - stage_started, 1)
        failed = {f"{d}/{r}": _failed_tasks(airflow_api, d, r) for (d, r) in stage
                  if finished[(d, r)]["state"] != "success"}
        assert not failed, f"runs not successful: {failed}\n{celery_profile.log('scheduler')[-3000:]}"
    celery_seconds = round(time.monotonic() - started, 1)

    # Both workers ran tasks of these runs (the broker hands work to either).
    per_worker = {name: len(celery_profile.workloads(name, prefix)) for name in celery_profile.workers}
    assert all(count > 0 for count in per_worker.values()), per_worker
    high_water = profile_sandbox.concurrency()
    assert max(high_water.get("autotask", {}).values(), default=0) <= 3, high_water

    reference_started = time.monotonic()
    expected, summaries = reference_state(runs, celery_profile.config_path)
    reference_seconds = round(time.monotonic() - reference_started, 1)
    actual = psa_state(profile_sandbox)
    assert differences(actual, expected) == {}

    # The same outcomes, run by run; and the ledger holds no write left unsettled.
    recorded = {(row["integration"], row["template"]): (row["status"], row["counts"])
                for row in sync_runs(celery_profile.state_url) if row["run_key"].endswith(tuple(
                    f"{prefix}__{t}" for t in TEMPLATE_ORDER))}
    reference = {(integration, template): (summary["status"], summary["counts"])
                 for (template, integration), summary in zip(runs, summaries, strict=True)}
    assert recorded == reference
    assert unsettled_operations(celery_profile.state_url) == []

    print(f"\ncelery profile: {len(runs)} DAG runs in {celery_seconds} s (per template {stage_seconds}); "
          f"reference run {reference_seconds} s; tasks per worker {per_worker}; "
          f"ledger {ledger_by_status(celery_profile.state_url)}; high-water marks {high_water}")

    # No secret anywhere the runs left something.
    sweep_started = time.monotonic()
    scan, searched = sweep(celery_profile, airflow_api, profile_sandbox, list(profile_mail.received))
    print(f"secret scan ({round(time.monotonic() - sweep_started, 1)} s): {searched}; {len(scan.hits)} hits")
    assert searched["task logs"] >= 5 * len(runs) and all(searched["task instances per worker"].values()), searched
    assert searched["xcom rows"] > 0 and searched["rendered field rows"] > 0 and searched["plugin pages"] > 5, searched
    assert scan.hits == [], scan.hits[:20]


@pytest.mark.parametrize("down", ["redis", "postgresql"])
def test_the_script_names_the_service_that_does_not_answer(tmp_path: Path, down: str) -> None:
    """One line naming the service and the setting, exit code 2, nothing started."""
    if down == "postgresql" and not redis_answers():
        pytest.skip(f"Redis does not answer at {REDIS_URL}: the script stops there first")
    closed = free_ports(1)[0]  # a loopback port nothing listens on
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "CHANNELSYNC_"))}
    env.update(CHANNELSYNC_PROFILE="refused", CHANNELSYNC_PROFILE_DIR=str(tmp_path),
               REDIS_URL=f"redis://127.0.0.1:{closed}/0" if down == "redis" else REDIS_URL,
               CHANNELSYNC_PG_URL=f"postgresql://postgres@127.0.0.1:{closed}")
    result = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    name, setting = ("Redis", "REDIS_URL") if down == "redis" else ("PostgreSQL", "CHANNELSYNC_PG_URL")
    assert len(errors) == 1 and errors[0].startswith(f"error: {name} does not answer at "), errors
    assert f"127.0.0.1:{closed}" in errors[0] and setting in errors[0], errors
    assert "stopping" not in result.stdout and not (tmp_path / "profile.env").exists()
