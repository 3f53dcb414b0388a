"""The pages against a real Airflow API server with the plugin loaded and seeded run records."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.plugin.conftest import AirflowServer
from tests.plugin.seed import HOSTILE

pytestmark = pytest.mark.airflow


def _cards(server: AirflowServer) -> dict[str, dict[str, Any]]:
    answer = server.get("/channelsync/api/dashboard", user="viewer")
    assert answer.status_code == 200
    return {card["dag_id"]: card for card in answer.json()["cards"]}


def test_the_plugin_is_registered_with_airflow(airflow_server: AirflowServer) -> None:
    answer = airflow_server.get("/api/v2/plugins", user="admin")
    plugin = next(p for p in answer.json()["plugins"] if p["name"] == "channelsync")
    assert [app["url_prefix"] for app in plugin["fastapi_apps"]] == ["/channelsync"]
    views = {view["name"]: view for view in plugin["external_views"]}
    assert views["channelsync"]["destination"] == "nav" and views["channelsync"]["url_route"] == "channelsync"
    assert views["Sync history"]["href"] == "/channelsync/history/{DAG_ID}"
    assert views["Sync status"]["destination"] == "dag_run"
    assert any("run_notes" in listener for listener in plugin["listeners"])


def test_the_dashboard_colours_each_template_by_its_records(airflow_server: AirflowServer) -> None:
    cards = _cards(airflow_server)
    warned = cards["demo-autotask__catalog_sync"]
    assert warned["colour"] == "yellow" and warned["reasons"] == ["warnings: 1 conflict"]
    assert warned["last_finished"]["counts"] == {"conflict": 1, "created": 221, "updated": 1, "unchanged": 1}
    failed = cards["demo-autotask__price_availability"]
    assert failed["colour"] == "red" and failed["reasons"][0].startswith("last run failed: [AUTOTASK_VALIDATION] load:")
    # the last *successful* sync is the Success before the failure, not the failed run
    assert failed["last_success"]["status"] == "success" and failed["last_success"]["id"] < failed["last_run"]["id"]
    assert cards["demo-connectwise__catalog_sync"]["colour"] == "green"
    assert cards["demo-connectwise__price_availability"]["reasons"] == ["paused in Airflow"]
    only_preview = cards["demo-autotask__submit_orders"]
    assert only_preview["colour"] == "gray" and only_preview["last_run"]["preview"] is True
    assert cards["old-msp__catalog_sync"]["reasons"][0].startswith("not configured")
    # every template the integrations file enables has a card, with no page knowing template names
    assert {"demo-autotask__order_status", "demo-connectwise__submit_orders"} <= set(cards)


def test_each_card_shows_the_endpoints_its_template_uses_and_a_down_one_turns_it_red(
        airflow_server: AirflowServer) -> None:
    cards = _cards(airflow_server)

    def states(dag_id: str) -> dict[str, str]:
        return {e["key"]: e["outcome"] for e in cards[dag_id]["endpoints"]}

    health = cards["demo-autotask__health"]
    assert states("demo-autotask__health") == {"autotask": "up", "tdsynnex_xml": "up", "tdsynnex_ion": "up",
                                               "crayon": "down"}
    assert health["colour"] == "red" and any(r.startswith("endpoint down: crayon [CRAYON_AUTH_FAILED]")
                                             for r in health["reasons"])
    (crayon,) = [e for e in health["endpoints"] if e["key"] == "crayon"]
    assert crayon["run_id"] == airflow_server.seeded.health_run and crayon["stale"] is False
    # billing reads Crayon: red; the TD SYNNEX catalog does not, so Crayon is not on its card (still Yellow)
    billing = cards["demo-autotask__subscription_billing"]
    assert "crayon" in states("demo-autotask__subscription_billing") and billing["colour"] == "red"
    assert any(r.startswith("endpoint down: crayon") for r in billing["reasons"])
    assert states("demo-autotask__catalog_sync") == {"autotask": "up", "tdsynnex_xml": "up", "tdsynnex_ion": "up"}
    assert cards["demo-autotask__catalog_sync"]["colour"] == "yellow"
    assert states("demo-connectwise__catalog_sync") == {"connectwise": "up", "tdsynnex_xml": "up",
                                                        "tdsynnex_ion": "up"}
    assert cards["demo-connectwise__catalog_sync"]["colour"] == "green"
    assert cards["old-msp__catalog_sync"]["endpoints"] == []  # no health run recorded
    page = airflow_server.get("/channelsync/", user="viewer").text
    card = page[page.index('id="demo-autotask__health"'):]
    card = card[:card.index("</article>")]
    assert "endpoint-down" in card and "crayon down" in card and "[CRAYON_AUTH_FAILED]" in card
    assert f'/channelsync/runs/{airflow_server.seeded.health_run}"' in card


def test_the_dashboard_draws_trend_pictures(airflow_server: AirflowServer) -> None:
    page = airflow_server.get("/channelsync/", user="viewer").text
    card = page[page.index('id="demo-autotask__catalog_sync"'):page.index('id="demo-autotask__price_availability"')]
    assert card.count("<svg") >= 4
    for title in ("runs:", "items:", "errors by code:", "duration (mean per day):"):
        assert f"<title>{title}" in card
    assert "CATALOG_CONFLICT" in card and "<table" not in card


def test_history_filters_and_pages(airflow_server: AirflowServer) -> None:
    path = "/channelsync/api/history/demo-autotask__catalog_sync"
    everything = airflow_server.get(path, user="viewer").json()
    assert everything["total"] == 30
    warnings = airflow_server.get(path, user="viewer", params={"status": "warning"}).json()
    assert warnings["total"] == 5 and {r["status"] for r in warnings["runs"]} == {"warning"}
    failed = airflow_server.get(path, user="viewer", params={"error_code": "AUTOTASK_AUTH_FAILED"}).json()
    assert failed["total"] == 1 and failed["runs"][0]["status"] == "failure"
    first, second = (airflow_server.get(path, user="viewer", params={"per_page": 10, "page": page}).json()
                     for page in (1, 2))
    assert first["pages"] == 3 and len(first["runs"]) == 10
    assert first["runs"][-1]["id"] > second["runs"][0]["id"]  # newest first, no overlap
    page = airflow_server.get("/channelsync/history/demo-autotask__catalog_sync", user="viewer").text
    assert '/dags/demo-autotask__catalog_sync/runs/scheduled__latest"' in page  # the Airflow run
    assert "/dags/demo-autotask__catalog_sync/runs/scheduled__12/tasks/extract" in page  # its task's logs
    assert 'class="failed-stage">extract</a>' in page


def test_a_run_s_items_show_source_target_changes_and_the_error_explained(airflow_server: AirflowServer) -> None:
    run_id = airflow_server.seeded.warning_run
    found = airflow_server.get(f"/channelsync/api/runs/{run_id}", user="viewer", params={"outcome": "conflict"}).json()
    assert found["total"] == 1 and found["per_outcome"]["created"] == 221
    (conflict,) = found["items"]
    assert conflict["source_key"] == "SKU-CONFLICT" and conflict["target_id"] == "3002"
    assert conflict["changes"] == [{"field": "price", "before": "15.00", "after": "17.50"}]
    assert conflict["first_responder"] and "in the PSA since channelsync last wrote it" in conflict["explanation"]
    page = airflow_server.get(f"/channelsync/runs/{run_id}", user="viewer", params={"outcome": "conflict"}).text
    assert "15.00</span> → <span class=\"after\">17.50" in page and "First responder:" in page
    searched = airflow_server.get(f"/channelsync/api/runs/{run_id}", user="viewer", params={"q": "SKU-NEW-22"}).json()
    assert {item["source_key"] for item in searched["items"]} == {"SKU-NEW-22", "SKU-NEW-220"}


def test_the_csv_export_has_every_item_and_no_formula(airflow_server: AirflowServer) -> None:
    answer = airflow_server.get(f"/channelsync/runs/{airflow_server.seeded.warning_run}/items.csv", user="viewer")
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 224 and sum(r["outcome"] == "created" for r in rows) == 221
    failed = airflow_server.get(f"/channelsync/runs/{airflow_server.seeded.failed_run}/items.csv", user="viewer")
    (row,) = csv.DictReader(io.StringIO(failed.text))
    assert row["error_message"] == "'" + HOSTILE  # a spreadsheet shows it, never runs it


def test_vendor_text_is_shown_escaped(airflow_server: AirflowServer) -> None:
    for path in (f"/channelsync/runs/{airflow_server.seeded.failed_run}", "/channelsync/",
                 "/channelsync/history/demo-autotask__price_availability"):
        page = airflow_server.get(path, user="viewer").text
        assert "<script>alert" not in page, path
        assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page, path


def test_a_preview_shows_its_plan(airflow_server: AirflowServer) -> None:
    page = airflow_server.get(f"/channelsync/runs/{airflow_server.seeded.preview_run}", user="viewer").text
    assert "Preview — nothing was written" in page
    assert "2 planned items: 2 submit." in page and "PO-1001" in page and "3 × HP EliteBook to ACME" in page


def test_airflow_s_dag_run_tab_leads_to_the_run_s_status_page(airflow_server: AirflowServer) -> None:
    answer = airflow_server.get("/channelsync/dag-runs/demo-autotask__catalog_sync/scheduled__latest", user="viewer")
    assert answer.status_code == 302
    assert answer.headers["location"] == f"/channelsync/runs/{airflow_server.seeded.warning_run}"
    missing = airflow_server.get("/channelsync/dag-runs/demo-autotask__catalog_sync/manual__nope", user="viewer")
    assert missing.status_code == 404


def test_the_error_catalog_lists_every_code_and_where_it_occurred(airflow_server: AirflowServer) -> None:
    every = airflow_server.get("/channelsync/api/errors", user="viewer").json()
    codes = {entry["code"]: entry for entry in every["errors"]}
    assert {"AUTOTASK_AUTH_FAILED", "CATALOG_CONFLICT", "TDS_FLATFILE_CORRUPT", "QUALITY_SUITE_FAILED"} <= set(codes)
    assert codes["AUTOTASK_AUTH_FAILED"]["first_responder"] == "PSA admin"
    assert [r["integration"] for r in codes["AUTOTASK_VALIDATION"]["recent_runs"]] == ["demo-autotask"]
    assert len(codes["CATALOG_CONFLICT"]["recent_runs"]) == 5
    found = airflow_server.get("/channelsync/api/errors", user="viewer", params={"q": "locked"}).json()["errors"]
    assert found and all("locked" in (e["explanation"] + e["title"] + e["code"]).lower() for e in found)
    seen = airflow_server.get("/channelsync/api/errors", user="viewer", params={"seen": "true"}).json()["errors"]
    seen_codes = {e["code"] for e in seen}
    assert {"AUTOTASK_AUTH_FAILED", "AUTOTASK_VALIDATION", "CATALOG_CONFLICT"} <= seen_codes
    assert "TDS_FLATFILE_CORRUPT" not in seen_codes  # in the catalog, not in any run
    demo = {c for c in seen_codes if any(r["integration"].startswith("demo-") for r in codes[c]["recent_runs"])}
    assert demo == {"AUTOTASK_AUTH_FAILED", "AUTOTASK_VALIDATION", "CATALOG_CONFLICT", "BILLING_CUSTOMER_UNMAPPED",
                    "CRAYON_AUTH_FAILED", "HEALTH_SYSTEM_DOWN"}  # the last two: the seeded health check


def test_the_alerts_page_lists_each_e_mail_with_its_delivery_and_the_dashboard_notices_the_undelivered(
        airflow_server: AirflowServer) -> None:
    messages = airflow_server.get("/channelsync/api/alerts", user="viewer").json()["messages"]
    refused = next(m for m in messages if m["id"] == airflow_server.seeded.failed_alert)
    assert (refused["status"], refused["attempts"]) == ("failed", 6)
    assert refused["run_id"] == airflow_server.seeded.failed_run
    assert "451" in refused["last_error"] and refused["recipients"] == ["msp-integrations@example.com"]
    assert {"failed", "sent"} <= {m["status"] for m in messages}  # (the rerun DAGs of acme: no_recipients)
    only = airflow_server.get("/channelsync/api/alerts", user="viewer", params={"status": "failed"}).json()["messages"]
    assert [m["id"] for m in only] == [airflow_server.seeded.failed_alert]
    page = airflow_server.get("/channelsync/alerts", user="viewer").text
    assert "not delivered" in page and "4.3.0 try again later" in page
    assert f'/channelsync/runs/{airflow_server.seeded.failed_run}"' in page
    dashboard = airflow_server.get("/channelsync/", user="viewer").text
    assert "1 alert e-mail of the last day not delivered" in dashboard
    assert "/channelsync/alerts?status=failed" in dashboard
    assert airflow_server.get("/channelsync/api/dashboard", user="viewer").json()["undelivered_alerts"] == [
        airflow_server.seeded.failed_alert]
