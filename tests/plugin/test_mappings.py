"""The customer mapping pages against the real API server, its sandbox PSA and distributor, and the seeded
billing run: the customers listed, the edit checked as the CLI checks it, saved and audited under the
Airflow user's name, suggestions shown but never saved, "save and sync now" triggering the billing DAG
as that user, and read-only users refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.plugin.conftest import AirflowServer
from tests.plugin.seed import ON

pytestmark = pytest.mark.airflow

BILLING_DAG = "demo-autotask__subscription_billing"


def _page(key: str) -> str:
    return f"/channelsync/mappings/demo-autotask/customers/{key}"


def _mapping(server: AirflowServer, key: str) -> dict[str, Any]:
    answer = server.get(f"/channelsync/api/mappings/demo-autotask/customers/{key}", user="viewer")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_the_list_shows_mapped_and_unmapped_customers_of_the_latest_run(airflow_server: AirflowServer) -> None:
    keys = airflow_server.billing
    answer = airflow_server.get("/channelsync/api/mappings/demo-autotask", user="viewer")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["latest_run"] == airflow_server.seeded.billing_run
    customers = {c["key"]: c for c in body["customers"]}
    mapped = customers[keys.mapped]
    assert (mapped["status"], mapped["psa_company_id"], mapped["updated_by"]) == ("mapped", "30001", "alice")
    assert mapped["latest_run"]["outcome"] == "posted" and mapped["lines"] == 3 and mapped["total"] == 108.0
    assert customers[keys.hostile]["status"] == "unmapped"
    assert customers[keys.hostile]["latest_run"]["error_code"] == "BILLING_CUSTOMER_UNMAPPED"
    assert customers[keys.hostile]["invoices"] == [keys.invoice]
    page = airflow_server.get("/channelsync/mappings/demo-autotask", user="viewer").text
    assert "Evil &lt;script&gt;alert(&#34;mapping&#34;)&lt;/script&gt; Corp" in page and "<script>" not in page
    assert page.index(keys.hostile) < page.index(keys.mapped)  # those to map first
    assert 'method="post"' not in page
    # Suggestions on asking (the PSA is read), each a link to the prefilled form; nothing saved.
    suggested = airflow_server.get("/channelsync/mappings/demo-autotask", user="viewer", params={"suggest": 1}).text
    row = suggested[suggested.index(keys.unmapped):]
    assert f"Suggested: company <b>{keys.company}</b> {keys.unmapped_name}" in row
    assert f"/customers/{keys.unmapped}?company={keys.company}&amp;contract={keys.contract}" in row
    assert _mapping(airflow_server, keys.unmapped)["mapping"] is None
    # The integrations with subscription_billing the user may read.
    index = airflow_server.get("/channelsync/mappings", user="cwonly").text
    assert "/channelsync/mappings/demo-connectwise" in index and "/channelsync/mappings/demo-autotask" not in index
    assert airflow_server.get("/channelsync/mappings/demo-autotask", user="cwonly").status_code == 403
    assert airflow_server.get("/channelsync/mappings/acme", user="admin").status_code == 404


def test_an_edit_is_checked_against_the_psa_saved_and_audited_with_the_airflow_user(
        airflow_server: AirflowServer) -> None:
    keys = airflow_server.billing
    browser = airflow_server.browser("admin")
    token = browser.csrf(_page(keys.unmapped))
    form = {"csrf_token": token, "company": keys.company, "sync": "on", "on": ON, "action": "save"}

    # The CLI's checks: a contract that is not Recurring Service is refused, with the reason; nothing saved.
    refused = browser.post(_page(keys.unmapped), {**form, "contract": keys.not_recurring})
    assert refused.status_code == 400, refused.text
    assert "Recurring Service" in refused.json()["error"] and refused.json()["saved"] is False
    unknown = browser.post(_page(keys.unmapped), {**form, "company": "987654"}, html=True)
    assert unknown.status_code == 400 and "Not saved: Autotask has no company 987654" in unknown.text
    assert _mapping(airflow_server, keys.unmapped)["mapping"] is None
    assert _mapping(airflow_server, keys.unmapped)["history"] == []

    # No contract given: the company's only active Recurring Service contract, as `mapping set` takes it.
    before = datetime.now(UTC) - timedelta(seconds=5)
    saved = browser.post(_page(keys.unmapped), {**form, "contract": ""})
    assert saved.status_code == 200, saved.text
    assert saved.json()["action"] == "create"
    found = _mapping(airflow_server, keys.unmapped)
    mapping = found["mapping"]
    assert (mapping["psa_company_id"], mapping["psa_contract_id"], mapping["sync_enabled"]) == (
        keys.company, keys.contract, True)
    assert mapping["updated_by"] == "admin" and mapping["customer_name"]  # the distributor's name for it
    (created,) = found["history"]
    assert (created["action"], created["changed_by"]) == ("create", "admin")
    assert datetime.fromisoformat(created["changed_at"]) >= before

    # Only the switch: no system is asked, the change is audited as a disable.
    switched = browser.post(_page(keys.unmapped), {"csrf_token": token, "company": keys.company,
                                                  "contract": keys.contract, "action": "save"})
    assert switched.status_code == 200 and switched.json()["action"] == "disable", switched.text
    history = _mapping(airflow_server, keys.unmapped)["history"]
    assert [(h["action"], h["changed_by"]) for h in history] == [("disable", "admin"), ("create", "admin")]
    assert (history[0]["before"]["sync_enabled"], history[0]["after"]["sync_enabled"]) == (True, False)
    page = browser.page(_page(keys.unmapped)).text
    assert "<td>admin</td><td>disable</td>" in page and "<td>admin</td><td>create</td>" in page


def test_suggestions_are_shown_and_never_saved_without_a_click(airflow_server: AirflowServer) -> None:
    keys = airflow_server.billing
    browser = airflow_server.browser("admin")
    before = _mapping(airflow_server, keys.mapped)
    page = browser.page(_page(keys.mapped), suggest=1)
    assert page.status_code == 200, page.text
    assert "Suggestions" in page.text and "Use this</a>" in page.text and "reference" in page.text
    assert _mapping(airflow_server, keys.mapped) == before  # shown, not applied
    chosen = browser.page(_page(keys.mapped), company=keys.company, contract=keys.contract)
    assert "not saved. Check it, then save." in chosen.text
    assert f'name="company" value="{keys.company}"' in chosen.text
    assert "Contracts of company" in chosen.text  # the company's contracts billing can post to
    assert _mapping(airflow_server, keys.mapped) == before
    listed = browser.page("/channelsync/mappings/demo-autotask", suggest=1)
    assert listed.status_code == 200 and "<script>" not in listed.text
    assert _mapping(airflow_server, keys.mapped) == before
    found = browser.page(_page(keys.mapped), find="a")
    assert found.status_code == 200 and "Companies matching" in found.text


def test_save_and_sync_now_triggers_the_billing_dag_for_the_invoice_as_the_user(
        airflow_server: AirflowServer) -> None:
    keys = airflow_server.billing
    browser = airflow_server.browser("admin")
    token = browser.csrf(_page(keys.unmapped))
    answer = browser.post(_page(keys.unmapped), {"csrf_token": token, "company": keys.company,
                                                "contract": keys.contract, "sync": "on", "on": ON,
                                                "action": "sync"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["saved"] and result["airflow"]["status"] == 200
    assert result["airflow"]["path"] == f"/api/v2/dags/{BILLING_DAG}/dagRuns"
    run_id = result["airflow"]["body"]["dag_run_id"]
    dag_run = airflow_server.api("GET", f"/dags/{BILLING_DAG}/dagRuns/{run_id}").json()
    assert dag_run["conf"] == {"invoice_id": keys.invoice}
    assert dag_run["triggering_user_name"] == "admin"  # the user's own token, not a service account
    assert _mapping(airflow_server, keys.unmapped)["mapping"]["sync_enabled"] is True
    html = browser.post(_page(keys.unmapped), {"csrf_token": token, "company": keys.company,
                                              "contract": keys.contract, "sync": "on", "action": "sync"}, html=True)
    assert html.status_code == 200 and "Airflow started DAG run" in html.text
    assert f"POST /api/v2/dags/{BILLING_DAG}/dagRuns</code> → <b>200</b>" in html.text


def test_a_mapping_change_needs_edit_access_and_the_plugin_s_own_form(airflow_server: AirflowServer) -> None:
    keys = airflow_server.billing
    before = _mapping(airflow_server, keys.mapped)
    form = {"company": keys.company, "contract": keys.contract, "sync": "on", "on": ON}
    for user in ("viewer", "cwonly", "cweditor"):
        browser = airflow_server.browser(user)
        answer = browser.post(_page(keys.mapped), {**form, "csrf_token": browser.signed_csrf(), "action": "save"})
        assert answer.status_code == 403 and "may not" in answer.json()["detail"], (user, answer.text)
    assert 'method="post"' not in airflow_server.browser("viewer").page(_page(keys.mapped)).text
    admin = airflow_server.browser("admin")
    token = admin.csrf(_page(keys.mapped))
    assert admin.post(_page(keys.mapped), {**form, "action": "save"}).status_code == 403  # no token
    assert admin.post(_page(keys.mapped), {**form, "csrf_token": token}, origin="http://evil.example").status_code \
        == 403
    assert _mapping(airflow_server, keys.mapped) == before
