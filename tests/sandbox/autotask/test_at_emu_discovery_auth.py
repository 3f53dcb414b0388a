"""Zone discovery, version information, case-insensitive routing and the auth failure modes
(docs/vendors/autotask.md §A.1, §A.2)."""

from __future__ import annotations

from typing import Any

import requests

from channelsync.sandbox.demo_credentials import AUTOTASK as CREDS


def test_zone_information_points_at_the_rest_base(at: Any) -> None:
    response = requests.get(f"{at.root}/atservicesrest/v1.0/zoneInformation", params={"user": CREDS["username"]},
                            timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["url"] == at.api[: -len("V1.0/")] and body["url"].endswith("/autotask/ATServicesRest/")
    assert body["zoneName"] == CREDS["zone_name"]


def test_zone_information_for_an_unknown_user_is_a_500_with_errors(at: Any) -> None:
    response = requests.get(f"{at.root}/ATServicesRest/V1.0/ZoneInformation", params={"user": "nobody@x"}, timeout=5)
    assert response.status_code == 500 and at.error_of(response) == "Zone information could not be determined"


def test_version_information_and_version(at: Any) -> None:
    assert requests.get(f"{at.root}/atservicesrest/versioninformation", timeout=5).json() == {"apiVersions": ["1.0"]}
    assert set(at.ok("GET", "Version")) == {"majorVersion", "minorVersion", "build"}


def test_routing_ignores_case_of_path_and_entity(at: Any) -> None:
    upper = at.call("GET", f"{at.root}/ATSERVICESREST/V1.0/PRODUCTS/1").json()
    lower = at.call("GET", f"{at.root}/atservicesrest/v1.0/products/1").json()
    assert upper == lower and upper["item"]["id"] == 1


def test_header_names_are_case_insensitive(at: Any) -> None:
    headers = {"APIIntegrationcode": CREDS["integration_code"], "username": CREDS["username"],
               "SECRET": CREDS["secret"]}
    assert at.call("GET", "Products/1", headers=headers).status_code == 200


def test_unknown_user_is_a_500_with_errors(at: Any) -> None:
    response = at.call("GET", "Products/1", headers=at.headers(UserName="someone@else.example"))
    assert response.status_code == 500 and at.error_of(response)


def test_wrong_secret_is_a_401_with_errors(at: Any) -> None:
    response = at.call("GET", "Products/1", headers=at.headers(Secret="wrong"))
    assert response.status_code == 401 and at.error_of(response)


def test_unknown_integration_code_is_a_500_with_errors(at: Any) -> None:
    response = at.call("GET", "Products/1", headers=at.headers(ApiIntegrationCode="NOTACODE"))
    assert response.status_code == 500 and at.error_of(response) == "IntegrationCode is invalid."


def test_a_locked_user_is_refused(at: Any) -> None:
    at.control.control("autotask", "user", json={"locked": True})
    response = at.call("GET", "Products/1")
    assert response.status_code == 401 and "locked" in at.error_of(response)
    at.control.control("autotask", "user", json={"locked": False})
    assert at.call("GET", "Products/1").status_code == 200


def test_unknown_route_is_a_404_and_missing_method_a_405(at: Any) -> None:
    assert at.call("GET", "NoSuchEntities/1").status_code == 404
    collection = at.call("GET", "Products")
    assert collection.status_code == 405
    assert collection.json() == {"Message": "The requested resource does not support http method 'GET'."}


def test_injected_server_failure_has_no_errors_array(at: Any) -> None:
    at.control.set_faults({"system": "autotask", "kind": "status", "status": 503, "count": 1})
    response = at.call("GET", "Products/1")
    assert response.status_code == 503 and "errors" not in response.json()
