"""Every route of the plugin, enumerated from its app: no valid Airflow session → 401 (a page asked for by
a browser → the login page); signed in without read access to the DAG → 403; with it → 200. Every POST
(the routes that change something): refused without the plugin's CSRF token or from another origin,
and 403 without edit access to the DAG. The auth manager decides (tests/plugin/auth_manager.py scopes
users per DAG); the plugin only asks."""

from __future__ import annotations

import sys
import time
from typing import Any
from urllib.parse import quote

import jwt
import pytest
import requests
from fastapi.routing import APIRoute

from tests.plugin.conftest import ROOT, AirflowServer

pytestmark = pytest.mark.airflow

# The routes a DAG scope applies to, and those any signed-in user reaches (scoped content).
# The category mappings and service overrides of an integration (option_map_pages.py), list and one key.
OPTION_MAPS = {f"{api}/mappings/{{integration}}/{kind}{key}" for api in ("", "/api")
               for kind, one in (("categories", "/{code}"), ("services", "/{sku:path}")) for key in ("", one)}
DAG_SCOPED = {"/history/{dag_id}", "/api/history/{dag_id}", "/runs/{run_id}", "/api/runs/{run_id}",
              "/runs/{run_id}/items.csv", "/dag-runs/{dag_id}/{airflow_run_id:path}",
              "/mappings/{integration}", "/api/mappings/{integration}", "/mappings/{integration}/customers/{key}",
              "/api/mappings/{integration}/customers/{key}", *OPTION_MAPS}
SIGNED_IN = {"/", "/api/dashboard", "/errors", "/api/errors", "/static/{name}", "/mappings", "/alerts",
             "/api/alerts"}
# The routes that change something (POST), each needing edit access to its DAG.
CHANGES = {"/runs/{run_id}/items/{item_id}/rerun", "/runs/{run_id}/rerun-failed",
           "/mappings/{integration}/customers/{key}", "/mappings/{integration}/categories/{code}",
           "/mappings/{integration}/services/{sku:path}"}


def plugin_routes() -> list[APIRoute]:
    sys.path.insert(0, str(ROOT / "plugins"))
    try:
        from channelsync_ui.app import app
    finally:
        sys.path.remove(str(ROOT / "plugins"))
    return [route for route in app.routes if isinstance(route, APIRoute)]


def concrete(path: str, server: AirflowServer, *, dag: str = "demo-autotask") -> str:
    run = server.seeded.warning_run if dag == "demo-autotask" else server.seeded.connectwise_run
    return ("/channelsync" + path).replace("{dag_id}", f"{dag}__catalog_sync").replace("{run_id}", str(run)) \
        .replace("{airflow_run_id:path}", "scheduled__latest").replace("{name}", "channelsync.css") \
        .replace("{integration}", dag).replace("{key}", "crayon:4401:1").replace("{item_id}", "1") \
        .replace("{code}", "NBK").replace("{sku:path}", "CFQ7TTC0LDPB:0001/P1M")


def test_the_routes_are_the_ones_these_tests_know() -> None:
    routes = plugin_routes()
    assert {route.path for route in routes if route.methods == {"GET"}} == DAG_SCOPED | SIGNED_IN
    assert {route.path for route in routes if route.methods == {"POST"}} == CHANGES
    assert all(route.methods in ({"GET"}, {"POST"}) for route in routes)


@pytest.mark.parametrize("path", sorted(CHANGES))
def test_without_a_session_every_change_answers_401(airflow_server: AirflowServer, path: str) -> None:
    answer = requests.post(f"{airflow_server.url}{concrete(path, airflow_server)}", data={"csrf_token": "x"},
                           headers={"Origin": airflow_server.url}, timeout=60)
    assert answer.status_code == 401, answer.text


@pytest.mark.parametrize("path", sorted(CHANGES))
def test_every_change_needs_the_plugin_s_form_and_edit_access(airflow_server: AirflowServer, path: str) -> None:
    page = concrete(path, airflow_server)
    admin = airflow_server.browser("admin")
    token = admin.csrf(f"/channelsync/runs/{airflow_server.seeded.failed_run}")
    for case, answer in {"no token": admin.post(page, {}),
                         "a forged token": admin.post(page, {"csrf_token": "f" * 64}),
                         "another origin": admin.post(page, {"csrf_token": token}, origin="http://evil.example"),
                         "no origin": admin.post(page, {"csrf_token": token}, origin=None)}.items():
        assert answer.status_code == 403 and "CSRF" in answer.json()["detail"], (case, answer.text)
    for user in ("viewer", "outsider", "cwonly", "cweditor"):  # no edit access to demo-autotask's DAGs
        browser = airflow_server.browser(user)
        answer = browser.post(page, {"csrf_token": browser.signed_csrf(), "company": "1"})
        assert answer.status_code == 403, (user, answer.text)
        assert answer.json()["detail"].startswith("you may not"), (user, answer.text)


@pytest.mark.parametrize("path", sorted(DAG_SCOPED | SIGNED_IN))
def test_without_a_session_every_route_answers_401(airflow_server: AirflowServer, path: str) -> None:
    answer = airflow_server.get(concrete(path, airflow_server))
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"] == "Bearer"


def _forged(server: AirflowServer, *, secret: str | None = None, **claims: Any) -> str:
    """A token shaped like Airflow's, signed with ``secret`` (Airflow's own by default)."""
    now = int(time.time())
    payload = {"sub": "admin", "role": "admin", "teams": [], "aud": "apache-airflow", "iat": now, "nbf": now,
               "exp": now + 3600, **claims}
    return jwt.encode(payload, secret or server.env["AIRFLOW__API_AUTH__JWT_SECRET"], algorithm="HS512",
                      headers={"kid": "not-used"})


@pytest.mark.parametrize("case", ["garbage", "wrong secret", "expired", "wrong audience"])
def test_a_token_airflow_did_not_issue_or_that_expired_is_refused(airflow_server: AirflowServer, case: str) -> None:
    token = {"garbage": "not-a-jwt",
             "wrong secret": _forged(airflow_server, secret="someone-else-s-secret-" + "x" * 64),
             "expired": _forged(airflow_server, exp=int(time.time()) - 60, iat=int(time.time()) - 3600,
                                nbf=int(time.time()) - 3600),
             "wrong audience": _forged(airflow_server, aud="somebody-else")}[case]
    paths = ("/channelsync/", "/channelsync/api/dashboard", f"/channelsync/runs/{airflow_server.seeded.warning_run}",
             "/channelsync/static/channelsync.css")
    for path in paths:
        answer = airflow_server.get(path, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, (case, path, answer.text)
        assert airflow_server.get(path, cookies={"_token": token}).status_code == 401


def test_a_token_signed_with_airflow_s_secret_is_accepted(airflow_server: AirflowServer) -> None:
    """The control for the forged ones: same claims, the right key — Airflow's own validation is used."""
    answer = airflow_server.get("/channelsync/api/dashboard",
                                headers={"Authorization": f"Bearer {_forged(airflow_server)}"})
    assert answer.status_code == 200


@pytest.mark.parametrize("path", ["/", "/errors", "/history/{dag_id}", "/runs/{run_id}", "/mappings",
                                  "/mappings/{integration}/customers/{key}", "/mappings/{integration}/categories",
                                  "/mappings/{integration}/services/{sku:path}"])
def test_a_browser_without_a_session_is_sent_to_airflow_s_login(airflow_server: AirflowServer, path: str) -> None:
    page = concrete(path, airflow_server)
    answer = airflow_server.get(page, html=True)
    assert answer.status_code == 302
    assert answer.headers["location"].startswith("/auth/login?next=")
    assert quote(page, safe="") in answer.headers["location"]


@pytest.mark.parametrize("path", sorted(DAG_SCOPED))
def test_signed_in_without_access_to_the_dag_is_403(airflow_server: AirflowServer, path: str) -> None:
    for user in ("outsider", "cwonly"):  # cwonly reads demo-connectwise only; the path is demo-autotask's
        answer = airflow_server.get(concrete(path, airflow_server), user=user)
        assert answer.status_code == 403, (user, answer.text)
    assert airflow_server.get(concrete(path, airflow_server), user="outsider", html=True).status_code == 403


@pytest.mark.parametrize("path", sorted(DAG_SCOPED | SIGNED_IN))
def test_with_read_access_every_route_answers(airflow_server: AirflowServer, path: str) -> None:
    for user, dag in (("viewer", "demo-autotask"), ("admin", "demo-autotask"), ("cwonly", "demo-connectwise")):
        for cookie in (False, True):  # the API's bearer header, and the UI's session cookie
            answer = airflow_server.get(concrete(path, airflow_server, dag=dag), user=user, cookie=cookie)
            expected = 302 if path.startswith("/dag-runs/") else 200
            assert answer.status_code == expected, (user, cookie, answer.text[:500])


def test_pages_only_show_what_the_user_may_read(airflow_server: AirflowServer) -> None:
    cards = {c["dag_id"] for c in airflow_server.get("/channelsync/api/dashboard", user="cwonly").json()["cards"]}
    assert cards and all(dag_id.startswith("demo-connectwise__") for dag_id in cards)
    assert airflow_server.get("/channelsync/api/dashboard", user="outsider").json()["cards"] == []
    errors = airflow_server.get("/channelsync/api/errors", user="cwonly").json()["errors"]
    assert errors  # the catalog itself is for everyone signed in …
    assert not [r for e in errors for r in e["recent_runs"] if r["integration"] != "demo-connectwise"]  # … its runs not
    alerts = airflow_server.get("/channelsync/api/alerts", user="cwonly").json()["messages"]
    assert [m["dag_id"] for m in alerts] == ["demo-connectwise__catalog_sync"]
    assert airflow_server.get("/channelsync/api/alerts", user="outsider").json()["messages"] == []
    assert airflow_server.get("/channelsync/api/dashboard", user="cwonly").json()["undelivered_alerts"] == []


def test_pages_carry_a_content_security_policy_without_scripts(airflow_server: AirflowServer) -> None:
    answer = airflow_server.get("/channelsync/", user="viewer")
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "<script" not in answer.text


def test_the_csrf_cookie_is_http_only_same_site_strict_and_only_set_by_pages_with_forms(
        airflow_server: AirflowServer) -> None:
    page = airflow_server.get(f"/channelsync/runs/{airflow_server.seeded.failed_run}", user="admin")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("channelsync_csrf=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/channelsync" in cookie
    assert 'name="csrf_token" value="' in page.text
    assert "set-cookie" not in airflow_server.get("/channelsync/errors", user="admin").headers  # no form, no cookie
