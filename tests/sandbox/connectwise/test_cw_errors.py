"""Every documented error of docs/vendors/connectwise.md §B.5 (and §B.2 auth) for the emulated entities,
one test each."""

from __future__ import annotations

import requests

from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl

CREDS = demo_credentials.CONNECTWISE
AUTH = (f"{CREDS['company']}+{CREDS['public_key']}", CREDS["private_key"])

CATALOG = "/procurement/catalog"
ITEM = {"identifier": "ERR-1", "description": "d", "customerDescription": "c", "subcategory": {"id": 1},
        "type": {"id": 1}}


def shape(response: requests.Response) -> dict:
    body = response.json()
    assert set(body) == {"code", "message", "errors"}
    for error in body["errors"] or []:
        assert set(error) >= {"code", "message", "resource", "field"}
    return body


def test_missing_client_id_is_refused(api: str) -> None:
    response = requests.get(api + CATALOG, auth=AUTH, timeout=5)
    assert response.status_code == 400 and "clientId" in shape(response)["message"]


def test_bad_credentials_are_401(api: str) -> None:
    response = requests.get(api + CATALOG, auth=(AUTH[0], "wrong"), headers={"clientId": CREDS["client_id"]},
                            timeout=5)
    assert response.status_code == 401 and shape(response)["code"] == "Unauthorized"
    no_auth = requests.get(api + CATALOG, headers={"clientId": CREDS["client_id"]}, timeout=5)
    assert no_auth.status_code == 401


def test_required_fields_missing(api: str, cw: requests.Session) -> None:
    response = cw.post(api + CATALOG, json={"identifier": "X", "description": "  "}, timeout=5)
    body = shape(response)
    assert response.status_code == 400 and body["code"] == "InvalidObject"
    assert {e["field"] for e in body["errors"]} == {"description", "subcategory", "type", "customerDescription"}
    assert {e["code"] for e in body["errors"]} == {"NullField"} and body["errors"][0]["resource"] == "catalogItem"


def test_max_length_exceeded(api: str, cw: requests.Session) -> None:
    response = cw.post(api + CATALOG, json={**ITEM, "description": "x" * 61, "vendorSku": "y" * 51}, timeout=5)
    body = shape(response)
    assert response.status_code == 400
    assert [(e["code"], e["field"]) for e in body["errors"]] == [("MaxLengthField", "description"),
                                                                ("MaxLengthField", "vendorSku")]
    assert body["errors"][0]["message"] == "The field description must be a string with a maximum length of 60."


def test_duplicate_identifier_is_object_exists(api: str, cw: requests.Session, sandbox: SandboxControl) -> None:
    existing = sandbox.records("connectwise", "catalogItems")[0]["identifier"]
    response = cw.post(api + CATALOG, json={**ITEM, "identifier": existing}, timeout=5)
    body = shape(response)
    assert response.status_code == 400 and body["code"] == "InvalidObject"
    assert body["errors"][0]["code"] == "ObjectExists" and body["errors"][0]["field"] == "identifier"


def test_unknown_reference_is_not_found_on_the_field(api: str, cw: requests.Session) -> None:
    response = cw.post(api + CATALOG, json={**ITEM, "subcategory": {"id": 9999}}, timeout=5)
    error = shape(response)["errors"][0]
    assert response.status_code == 400 and (error["code"], error["field"]) == ("NotFound", "subcategory/id")


def test_invalid_enum_value(api: str, cw: requests.Session) -> None:
    response = cw.post(api + CATALOG, json={**ITEM, "productClass": "Gadget"}, timeout=5)
    assert response.status_code == 400 and shape(response)["errors"][0]["code"] == "InvalidValue"


def test_record_not_found_is_404(api: str, cw: requests.Session) -> None:
    response = cw.get(api + CATALOG + "/987654", timeout=5)
    assert response.status_code == 404 and shape(response)["code"] == "NotFound"
    assert cw.patch(api + CATALOG + "/987654", json=[{"op": "replace", "path": "price", "value": 1}],
                    timeout=5).status_code == 404
    assert cw.get(api + "/procurement/nosuchthing", timeout=5).status_code == 404


def test_unsupported_method_is_405(api: str, cw: requests.Session) -> None:
    response = cw.put(api + CATALOG, json=ITEM, timeout=5)
    assert response.status_code == 405 and shape(response)["code"] == "MethodNotAllowed"


def test_record_in_use_is_409(api: str, cw: requests.Session) -> None:
    response = cw.delete(api + "/procurement/subcategories/1", timeout=5)
    assert response.status_code == 409 and shape(response)["code"] == "Conflict"


def test_security_role_is_403(api: str, cw: requests.Session, sandbox: SandboxControl) -> None:
    sandbox.control("connectwise", "security", json={"deny": ["POST procurement/catalog"]})
    response = cw.post(api + CATALOG, json=ITEM, timeout=5)
    assert response.status_code == 403 and shape(response)["code"] == "Security"
    assert cw.get(api + CATALOG, timeout=5).status_code == 200


def test_malformed_conditions_are_400(api: str, cw: requests.Session) -> None:
    response = cw.get(api + CATALOG, params={"conditions": 'identifier = "open'}, timeout=5)
    assert response.status_code == 400 and "position" in shape(response)["message"]
    unknown = cw.get(api + CATALOG, params={"conditions": "nosuchfield = 1"}, timeout=5)
    assert unknown.status_code == 400 and "nosuchfield" in shape(unknown)["message"]
    bad_order = cw.get(api + CATALOG, params={"orderBy": "price sideways"}, timeout=5)
    assert bad_order.status_code == 400


def test_bad_patch_bodies(api: str, cw: requests.Session) -> None:
    url = api + CATALOG + "/1"
    assert cw.patch(url, json={"price": 1}, timeout=5).status_code == 400  # not a list
    unknown = cw.patch(url, json=[{"op": "replace", "path": "Price", "value": 1}], timeout=5)  # case-sensitive
    assert unknown.status_code == 400 and shape(unknown)["errors"][0]["field"] == "Price"
    assert cw.patch(url, json=[{"op": "move", "path": "price"}], timeout=5).status_code == 400
    too_long = cw.patch(url, json=[{"op": "replace", "path": "identifier", "value": "z" * 76}], timeout=5)
    assert shape(too_long)["errors"][0]["code"] == "MaxLengthField"
    invalid_json = cw.post(api + CATALOG, data=b"{not json", timeout=5)
    assert invalid_json.status_code == 400 and shape(invalid_json)["code"] == "InvalidObject"


def test_company_needs_an_address_field(api: str, cw: requests.Session) -> None:
    response = cw.post(api + "/company/companies", json={"identifier": "NoAddress", "name": "No Address"}, timeout=5)
    assert response.status_code == 400 and shape(response)["errors"][0]["field"] == "addressLine1"


def test_rate_limit_is_429_with_retry_after(api: str, cw: requests.Session, sandbox: SandboxControl) -> None:
    sandbox.control("connectwise", "limits", json={"requests_per_second": 3, "retry_after": 2})
    statuses = [cw.get(api + CATALOG + "/1", timeout=5) for _ in range(5)]
    assert [r.status_code for r in statuses].count(429) >= 1
    throttled = next(r for r in statuses if r.status_code == 429)
    assert throttled.headers["Retry-After"] == "2" and "Too many requests" in throttled.json()["message"]
    sandbox.control("connectwise", "limits", json={"requests_per_second": None})
    assert cw.get(api + CATALOG + "/1", timeout=5).status_code == 200


def test_injected_server_error_uses_the_vendor_shape(api: str, cw: requests.Session, sandbox: SandboxControl) -> None:
    sandbox.set_faults({"kind": "status", "status": 500, "system": "connectwise", "count": 1})
    response = cw.get(api + CATALOG, timeout=5)
    assert response.status_code == 500 and shape(response)["code"]
