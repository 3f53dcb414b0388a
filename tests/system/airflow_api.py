"""The few calls of Airflow's REST API (v2) the system tests make, as a user's script would: a token from the
simple auth manager, unpause, trigger, and read DAG runs and task instances."""

from __future__ import annotations

import time
from typing import Any

import requests

FINISHED = {"success", "failed"}


class AirflowApi:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        response = self.session.post(f"{self.base_url}/auth/token", json={"username": username, "password": password},
                                     timeout=30)
        response.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.base_url}/api/v2/{path.lstrip('/')}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def wait_for_dags(self, dag_ids: list[str], timeout_s: float = 180) -> None:
        """Until the DAG processor has parsed every one of ``dag_ids``."""
        deadline = time.monotonic() + timeout_s
        missing = list(dag_ids)
        while missing:
            listed = self._call("GET", "dags", params={"limit": 100, "paused": "true"})["dags"]
            listed += self._call("GET", "dags", params={"limit": 100, "paused": "false"})["dags"]
            known = {dag["dag_id"] for dag in listed}
            missing = [dag_id for dag_id in dag_ids if dag_id not in known]
            if missing and time.monotonic() > deadline:
                raise TimeoutError(f"DAGs not parsed within {timeout_s} s: {missing}")
            if missing:
                time.sleep(2)

    def unpause(self, dag_id: str) -> None:
        self._call("PATCH", f"dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"dags/{dag_id}/dagRuns",
                                            json={"dag_run_id": run_id, "logical_date": None, "conf": conf or {}})
        return result

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"dags/{dag_id}/dagRuns/{run_id}")
        return result

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                                                  params={"limit": 100})["task_instances"]
        return result

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        return result

    def loads(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's load task instances: one, or one per partition (a mapped load)."""
        return [ti for ti in self.task_instances(dag_id, run_id) if ti["task_id"] == "load"]

    def set_pool_slots(self, pool: str, slots: int) -> int:
        """Set a pool's size; returns the size it had."""
        before: int = self._call("GET", f"pools/{pool}")["slots"]
        self._call("PATCH", f"pools/{pool}", json={"name": pool, "slots": slots, "include_deferred": False})
        return before

    def wait_for_runs(self, runs: list[tuple[str, str]], timeout_s: float) -> dict[tuple[str, str], dict[str, Any]]:
        """Until every (dag_id, run_id) has finished; returns their last state."""
        deadline = time.monotonic() + timeout_s
        last: dict[tuple[str, str], dict[str, Any]] = {}
        while True:
            for run in runs:
                if last.get(run, {}).get("state") not in FINISHED:
                    last[run] = self.dag_run(*run)
            if all(state["state"] in FINISHED for state in last.values()):
                return last
            if time.monotonic() > deadline:
                raise TimeoutError(f"runs not finished within {timeout_s} s: "
                                   f"{ {f'{d}/{r}': s['state'] for (d, r), s in last.items()} }")
            time.sleep(2)
