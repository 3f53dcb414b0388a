"""Fixtures for the Crayon emulator tests: spec validation and an authenticated session."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from openapi_schema_validator import OAS30Validator

from channelsync.clients.crayon import camel
from channelsync.sandbox.demo_credentials import CRAYON
from channelsync.sandbox.server import SandboxServer
from tests.sandbox.crayon.wire import assert_pascal
from tests.specs import SPECS

SPEC = SPECS / "crayon-customer-api-v1.openapi.json"


@pytest.fixture(scope="session")
def crayon_spec() -> dict[str, Any]:
    return json.loads(SPEC.read_text())


@pytest.fixture(scope="session")
def conforms(crayon_spec: dict[str, Any]) -> Callable[[Any, str, str], None]:
    """``conforms(body, "/Subscriptions", "get")``: validate a 200 body against the spec's schema.

    The wire is PascalCase (the live API's casing) and the spec camelCase: every property name of the
    body must start with a capital, and the camel-cased body must match the schema exactly (the spec's
    schemas forbid additional properties). List endpoints answer the ``{TotalHits, Items}`` envelope
    (see the emulator's docstring): the spec's array schema is applied to ``Items``.
    """

    def check(body: Any, path: str, method: str = "get") -> None:
        assert_pascal(body)
        content = crayon_spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        schema = dict(content["schema"])
        if schema.get("type") == "array":
            assert set(body) == {"TotalHits", "Items"} and isinstance(body["TotalHits"], int)
            body = body["Items"]
            assert body, f"{path} returned no items to validate"
        OAS30Validator({**schema, "components": crayon_spec["components"]}).validate(camel(body))

    return check


@pytest.fixture()
def crayon_url(sandbox_server: SandboxServer) -> str:
    return f"{sandbox_server.url}/crayon/api/v1"


def fetch_token(crayon_url: str) -> requests.Response:
    return requests.post(
        f"{crayon_url}/connect/token", auth=(CRAYON["client_id"], CRAYON["client_secret"]), timeout=10,
        data={"grant_type": "password", "username": CRAYON["username"], "password": CRAYON["password"],
              "scope": "CustomerApi"},
    )


@pytest.fixture()
def token_request() -> Callable[[str], requests.Response]:
    return fetch_token


@pytest.fixture()
def crayon(sandbox: Any, crayon_url: str) -> requests.Session:
    """A session with a valid bearer token (the sandbox freshly reset)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {fetch_token(crayon_url).json()['AccessToken']}"
    return session

