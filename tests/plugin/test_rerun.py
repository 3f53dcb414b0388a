"""Reruns from the status pages, against real failed DAG runs (``rerun_template.py``, run by ``dag.test()``
before the API server started): the plugin clears exactly the right task instances through Airflow's
own REST API as the signed-in user, which Airflow's API then shows (states, tries, its audit log), and
refuses users without edit access and forms that did not come from its own pages."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.plugin.conftest import AirflowServer

pytestmark = pytest.mark.airflow

MAPPED, SINGLE = "acme__test_rerun_mapped", "acme__test_rerun_single"
PARTITIONS = ["cust-a", "cust-b", "cust-c", "cust-d"]  # sorted: the map indexes


def _sync_run(server: AirflowServer, dag_id: str) -> int:
    runs = server.get(f"/channelsync/api/history/{dag_id}", user="admin").json()["runs"]
    (run,) = runs
    assert run["status"] == "failure"
    return int(run["id"])


def _ti(server: AirflowServer, dag_id: str, task: str, map_index: int | None = None) -> dict[str, Any]:
    run_id = server.dag_runs[dag_id]
    path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task}" + (f"/{map_index}" if map_index is not None else "")
    answer = server.api("GET", path)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _tries(server: AirflowServer, dag_id: str, task: str, map_index: int = -1) -> list[dict[str, Any]]:
    run_id = server.dag_runs[dag_id]
    suffix = f"/{map_index}" if map_index >= 0 else ""
    answer = server.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task}{suffix}/tries")
    assert answer.status_code == 200, answer.text
    tries: list[dict[str, Any]] = answer.json()["task_instances"]
    return tries


def _clears_by(server: AirflowServer, dag_id: str) -> list[str]:
    """Who Airflow's audit log says cleared task instances of the DAG."""
    answer = server.api("GET", "/eventLogs", params={"dag_id": dag_id, "event": "post_clear_task_instances"})
    assert answer.status_code == 200, answer.text
    return [entry["owner"] for entry in answer.json()["event_logs"]]


def _failed_item(server: AirflowServer, run_id: int, partition: str) -> int:
    items = server.get(f"/channelsync/api/runs/{run_id}", user="admin", params={"outcome": "failed"}).json()["items"]
    return int(next(item["id"] for item in items if item["partition"] == partition))


def test_the_failed_runs_are_what_the_reruns_start_from(airflow_server: AirflowServer) -> None:
    """The control: Airflow and channelsync agree on what failed before anything is cleared."""
    states = [_ti(airflow_server, MAPPED, "load", n)["state"] for n in range(len(PARTITIONS))]
    assert states == ["success", "failed", "success", "failed"]
    assert _ti(airflow_server, MAPPED, "report")["state"] == "failed"
    run_id = airflow_server.dag_runs[MAPPED]
    xcom = airflow_server.api("GET", f"/dags/{MAPPED}/dagRuns/{run_id}/taskInstances/partitions/xcomEntries/"
                                     "return_value")
    assert xcom.status_code == 200 and xcom.json()["value"] in (PARTITIONS, str(PARTITIONS).replace("'", '"'))


def test_rerun_one_customer_then_the_failed_items_only(airflow_server: AirflowServer) -> None:
    run_id = _sync_run(airflow_server, MAPPED)
    browser = airflow_server.browser("admin")
    page = browser.page(f"/channelsync/runs/{run_id}").text
    assert ">Rerun failed items only</button>" in page and ">Rerun cust-b</button>" in page
    assert "&lt;script&gt;alert(&#39;rerun&#39;)&lt;/script&gt;" in page and "<script>alert" not in page
    token = browser.csrf(f"/channelsync/runs/{run_id}")

    # One customer: its map index comes from the partitions XCom; only it and the report are cleared.
    item = _failed_item(airflow_server, run_id, "cust-b")
    answer = browser.post(f"/channelsync/runs/{run_id}/items/{item}/rerun", {"csrf_token": token})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["ok"] and result["airflow"]["status"] == 200
    assert result["airflow"]["path"] == f"/api/v2/dags/{MAPPED}/clearTaskInstances"
    assert [(t["task_id"], t["map_index"]) for t in result["cleared"]] == [("load", 1), ("report", -1)]
    # Airflow's own API: that instance and the report were cleared (a new try waits), the others not.
    assert _ti(airflow_server, MAPPED, "load", 1)["state"] is None
    assert [t["state"] for t in _tries(airflow_server, MAPPED, "load", 1)][:1] == ["failed"]  # the try cleared
    assert _ti(airflow_server, MAPPED, "report")["state"] is None
    assert [_ti(airflow_server, MAPPED, "load", n)["state"] for n in (0, 2, 3)] == ["success", "success", "failed"]
    dag_run = airflow_server.api("GET", f"/dags/{MAPPED}/dagRuns/{airflow_server.dag_runs[MAPPED]}").json()
    assert dag_run["state"] == "queued"
    assert _clears_by(airflow_server, MAPPED) == ["admin"]  # the user, not a service account
    note = _ti(airflow_server, MAPPED, "load", 1)["note"]
    assert note.startswith(f"channelsync rerun by admin from sync run #{run_id}: the load of cust-b (map index 1)")

    # The run's failures only: what is still failed (cust-d) and the report; the posted ones stay.
    answer = browser.post(f"/channelsync/runs/{run_id}/rerun-failed", {"csrf_token": token}, html=True)
    assert answer.status_code == 200, answer.text
    assert "Airflow cleared 1 failed load (cust-d) and the report" in answer.text
    assert f"POST /api/v2/dags/{MAPPED}/clearTaskInstances</code> → <b>200</b>" in answer.text
    assert _ti(airflow_server, MAPPED, "load", 3)["state"] is None
    assert [_ti(airflow_server, MAPPED, "load", n)["state"] for n in (0, 2)] == ["success", "success"]
    assert _clears_by(airflow_server, MAPPED) == ["admin", "admin"]

    # Nothing failed any more: nothing is cleared, and the page says why.
    answer = browser.post(f"/channelsync/runs/{run_id}/rerun-failed", {"csrf_token": token})
    assert answer.status_code == 409 and "no failed task instance" in answer.json()["refused"]


def test_a_template_without_partitions_reruns_its_failed_stage_and_report(airflow_server: AirflowServer) -> None:
    run_id = _sync_run(airflow_server, SINGLE)
    browser = airflow_server.browser("admin")
    token = browser.csrf(f"/channelsync/runs/{run_id}")
    assert ">Rerun cust-b</button>" not in browser.page(f"/channelsync/runs/{run_id}").text  # no partition to name
    assert [_ti(airflow_server, SINGLE, task)["state"] for task in ("reconcile", "load", "report")] == [
        "success", "failed", "failed"]
    answer = browser.post(f"/channelsync/runs/{run_id}/rerun-failed", {"csrf_token": token})
    assert answer.status_code == 200, answer.text
    assert [(t["task_id"], t["map_index"]) for t in answer.json()["cleared"]] == [("load", -1), ("report", -1)]
    assert [_ti(airflow_server, SINGLE, task)["state"] for task in ("extract", "validate", "reconcile", "load",
                                                                    "report")] == [
        "success", "success", "success", None, None]
    assert _clears_by(airflow_server, SINGLE) == ["admin"]


def test_a_rerun_needs_edit_access_to_the_dag(airflow_server: AirflowServer) -> None:
    run_id = airflow_server.seeded.failed_run  # demo-autotask price_availability, failed
    for user in ("viewer", "cwonly", "cweditor"):  # reads it but may not edit / reads connectwise only / edits it only
        browser = airflow_server.browser(user)
        token = browser.signed_csrf()  # their pages carry no form to take it from
        for path in (f"/channelsync/runs/{run_id}/rerun-failed", f"/channelsync/runs/{run_id}/items/1/rerun"):
            answer = browser.post(path, {"csrf_token": token})
            assert answer.status_code == 403, (user, answer.text)
            assert "may not" in answer.json()["detail"] and "CSRF" not in answer.json()["detail"]
    viewer_page = airflow_server.get(f"/channelsync/runs/{run_id}", user="viewer").text
    assert "Rerun failed items only" not in viewer_page and 'method="post"' not in viewer_page
    assert "Rerun failed items only" in airflow_server.browser("admin").page(f"/channelsync/runs/{run_id}").text


def test_a_form_that_did_not_come_from_the_plugin_is_refused(airflow_server: AirflowServer) -> None:
    run_id = airflow_server.seeded.preview_run  # admin may rerun it; a preview is then refused (409) — harmless
    path = f"/channelsync/runs/{run_id}/rerun-failed"
    browser = airflow_server.browser("admin")
    token = browser.csrf(f"/channelsync/runs/{airflow_server.seeded.failed_run}")
    assert browser.post(path, {"csrf_token": token}).status_code == 409  # the control: all checks pass
    other = airflow_server.browser("admin")  # another browser session of the same user: its own cookie
    other_token = other.csrf(f"/channelsync/runs/{airflow_server.seeded.failed_run}")
    cases = {
        "no token": browser.post(path, {}),
        "a wrong token": browser.post(path, {"csrf_token": "0" * 64}),
        "another session's token": browser.post(path, {"csrf_token": other_token}),
        "another user's token": browser.post(path, {"csrf_token": airflow_server.browser("viewer").signed_csrf()}),
        "another origin": browser.post(path, {"csrf_token": token}, origin="http://evil.example"),
        "origin null": browser.post(path, {"csrf_token": token}, origin="null"),
        "no origin nor referer": browser.post(path, {"csrf_token": token}, origin=None),
        "a referer elsewhere": browser.post(path, {"csrf_token": token}, origin=None,
                                            headers={"Referer": "http://evil.example/page"}),
    }
    for case, answer in cases.items():
        assert answer.status_code == 403, (case, answer.status_code, answer.text)
        assert answer.json()["detail"].startswith("CSRF check failed"), case
    # Without the cookie the token is bound to (a request forged elsewhere carries only Airflow's cookie).
    forged = requests.post(f"{airflow_server.url}{path}", data={"csrf_token": token},
                           cookies={"_token": airflow_server.token("admin")},
                           headers={"Origin": airflow_server.url, "Accept": "application/json"}, timeout=60)
    assert forged.status_code == 403 and "missing" in forged.json()["detail"]
    # A browser that sends only the Referer (its own page) passes.
    same = browser.post(path, {"csrf_token": token}, origin=None,
                        headers={"Referer": f"{airflow_server.url}/channelsync/runs/{run_id}"})
    assert same.status_code == 409
    html = browser.post(path, {}, html=True)
    assert html.status_code == 403 and "Nothing was changed" in html.text
