"""The category-mapping and service-override pages against the real API server, its sandbox PSA and TD
SYNNEX, and the seeded runs: the integrations file's map overlaid by what is saved here, every change
audited under the Airflow user's name and shown as the key's history, lists of the systems read only when
asked, "save and preview" triggering a preview run as the user, and read-only users refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugin.conftest import AirflowServer
from tests.plugin.seed import CATALOG_CODES, RETIRED_NAME, RETIRED_SKU

pytestmark = pytest.mark.airflow

CATEGORIES = "/channelsync/mappings/demo-autotask/categories"
SERVICES = "/channelsync/mappings/demo-autotask/services"
CATALOG_DAG = "demo-autotask__catalog_sync"


def _json(server: AirflowServer, path: str) -> dict[str, Any]:
    answer = server.get(path.replace("/channelsync/", "/channelsync/api/", 1), user="viewer")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_the_category_list_is_the_file_s_map_with_the_latest_run_s_products(airflow_server: AirflowServer) -> None:
    listed = _json(airflow_server, CATEGORIES)
    keys = {k["key"]: k for k in listed["keys"]}
    assert listed["latest_run"] == airflow_server.seeded.warning_run
    assert (keys["NBK"]["effective"], keys["NBK"]["source"], keys["NBK"]["file"]) == ("Notebooks", "file", "Notebooks")
    assert keys["NBK"]["latest_run"]["count"] == CATALOG_CODES["NBK"]
    assert keys["UPS"]["source"] == "not mapped" and keys["UPS"]["effective"] is None  # seen, mapped by nobody
    page = airflow_server.get(CATEGORIES, user="viewer").text
    assert "Category mappings" in page and 'method="post"' not in page
    assert 'href="/channelsync/mappings/demo-autotask">Customer mappings</a>' in page  # the mappings' tabs
    index = airflow_server.get("/channelsync/mappings", user="cwonly").text
    assert "/channelsync/mappings/demo-connectwise/categories" in index and "demo-autotask/" not in index
    assert airflow_server.get(CATEGORIES, user="cwonly").status_code == 403
    # TD SYNNEX's category list, read when asked: the codes not listed yet, each to map.
    known = airflow_server.get(CATEGORIES, user="viewer", params={"known": 1}).text
    assert "TD SYNNEX's other category codes" in known and "Map this…" in known, known[known.find("<main"):]


def test_a_category_edit_is_audited_with_the_airflow_user_and_shown_as_the_code_s_history(
        airflow_server: AirflowServer) -> None:
    browser = airflow_server.browser("admin")
    page = f"{CATEGORIES}/MON"
    token = browser.csrf(page)
    hostile = 'Screens <script>alert("x")</script>'
    saved = browser.post(page, {"csrf_token": token, "value": hostile, "action": "save"})
    assert saved.status_code == 200, saved.text
    assert (saved.json()["action"], saved.json()["effective"], saved.json()["source"]) == (
        "create", hostile, "store (replaces the file)")
    excluded = browser.post(page, {"csrf_token": token, "action": "exclude"})
    assert (excluded.json()["action"], excluded.json()["effective"]) == ("exclude", None)
    assert "MON" not in _json(airflow_server, CATEGORIES)["effective"]
    history = _json(airflow_server, page)["history"]
    assert [(h["action"], h["changed_by"]) for h in history] == [("exclude", "admin"), ("create", "admin")]
    html = browser.page(page).text
    assert "<td>admin</td><td>exclude</td>" in html and "<td>admin</td><td>create</td>" in html
    assert "Screens &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html and "<script>" not in html
    removed = browser.post(page, {"csrf_token": token, "action": "remove"}, html=True)
    assert removed.status_code == 200 and "Entry removed: the integrations file decides again" in removed.text
    assert _json(airflow_server, CATEGORIES)["effective"]["MON"] == "Monitors"  # the file's again
    refused = browser.post(f"{CATEGORIES}/NBK", {"csrf_token": token, "value": " ", "action": "save"})
    assert refused.status_code == 400 and "PSA category is required" in refused.json()["error"]
    # The PSA's categories, read when asked, fill in the form; nothing is saved.
    listed = browser.page(f"{CATEGORIES}/UPS", psa=1).text
    assert "The PSA's categories" in listed and 'list="psa-choices"' in listed and "Use this" in listed
    assert _json(airflow_server, f"{CATEGORIES}/UPS")["entry"] is None


def test_save_and_preview_triggers_a_preview_run_as_the_user(airflow_server: AirflowServer) -> None:
    browser = airflow_server.browser("admin")
    page = f"{CATEGORIES}/DOC"
    answer = browser.post(page, {"csrf_token": browser.csrf(page), "value": "Docks", "action": "preview"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["saved"] and (result["effective"], result["file"]) == ("Docks", "Docking Stations")
    assert result["airflow"]["path"] == f"/api/v2/dags/{CATALOG_DAG}/dagRuns"
    dag_run = airflow_server.api("GET", f"/dags/{CATALOG_DAG}/dagRuns/{result['airflow']['body']['dag_run_id']}")
    assert dag_run.json()["conf"] == {"preview": True} and dag_run.json()["triggering_user_name"] == "admin"


def test_a_retired_sku_of_the_latest_billing_run_is_listed_and_billed_to_a_service_once_saved(
        airflow_server: AirflowServer) -> None:
    listed = _json(airflow_server, SERVICES)
    (retired,) = [k for k in listed["keys"] if k["key"] == RETIRED_SKU]
    assert retired["source"] == "not mapped" and retired["latest_run"]["unknown"] is True
    html = airflow_server.get(SERVICES, user="viewer").text
    assert "Old &lt;b&gt;plan&lt;/b&gt;" in html and RETIRED_NAME not in html
    assert html.index(RETIRED_SKU) < html.index("</tbody>")
    browser = airflow_server.browser("admin")
    page = f"{SERVICES}/{RETIRED_SKU}"  # the SKU's "/" is part of the address
    found = browser.page(page, find="PC_")
    assert found.status_code == 200 and "Use this</a>" in found.text
    saved = browser.post(page, {"csrf_token": browser.csrf(page), "value": "Legacy plans", "action": "save"})
    assert saved.status_code == 200 and saved.json()["action"] == "create", saved.text
    assert _json(airflow_server, SERVICES)["effective"] == {RETIRED_SKU: "Legacy plans"}
    assert [h["changed_by"] for h in _json(airflow_server, page)["history"]] == ["admin"]


def test_a_change_needs_edit_access_to_the_template_s_dag(airflow_server: AirflowServer) -> None:
    for page in (f"{CATEGORIES}/NBK", f"{SERVICES}/{RETIRED_SKU}"):
        before = _json(airflow_server, page)
        for user in ("viewer", "cwonly", "cweditor"):
            browser = airflow_server.browser(user)
            answer = browser.post(page, {"csrf_token": browser.signed_csrf(), "value": "X", "action": "save"})
            assert answer.status_code == 403 and "may not" in answer.json()["detail"], (user, answer.text)
        assert 'method="post"' not in airflow_server.browser("viewer").page(page).text
        assert _json(airflow_server, page) == before
    editor = airflow_server.browser("cweditor")  # may edit demo-connectwise's DAGs: its own categories
    page = "/channelsync/mappings/demo-connectwise/categories/SSD"
    answer = editor.post(page, {"csrf_token": editor.csrf(page), "value": "Drives", "action": "save"})
    assert answer.status_code == 200 and answer.json()["action"] == "create", answer.text
