"""Raw-HTTP helpers for the TD SYNNEX emulator tests, and the Ion OpenAPI schema validator."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pytest
import requests
import yaml
from openapi_schema_validator import OAS30Validator

from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.specs import SPECS

SPEC = SPECS / "tdsynnex-streamone-ion-v3.openapi.yaml"
ACCOUNT = demo_credentials.TDSYNNEX_ION["account_id"]


@lru_cache(maxsize=1)
def ion_spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))


def validate_schema(instance: Any, schema_name: str) -> None:
    """Validate against ``#/components/schemas/<name>`` of the vendor's Ion spec (raises on mismatch)."""
    schema = {"components": ion_spec()["components"], "$ref": f"#/components/schemas/{schema_name}"}
    OAS30Validator(schema).validate(instance)


# The Google-RPC error envelope the spec shows in every error example (it gives no schema for it).
ERROR_ENVELOPE = {
    "type": "object", "required": ["error", "message", "code", "details"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "integer"},
                   "details": {"type": "array", "minItems": 1, "items": {
                       "type": "object", "required": ["@type", "requestId"]}}},
}


def validate_envelope(body: Any) -> None:
    OAS30Validator(ERROR_ENVELOPE).validate(body)


@pytest.fixture()
def ion_get(sandbox: SandboxControl, sandbox_server: SandboxServer) -> Callable[..., requests.Response]:
    """``ion_get(method, path, **kwargs)`` with a valid bearer token, path below the account."""
    token = requests.post(f"{sandbox_server.url}/tdsynnex/ion/oauth/token", timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": demo_credentials.TDSYNNEX_ION["refresh_token"]}).json()
    base = f"{sandbox_server.url}/tdsynnex/ion/api/v3/accounts/{ACCOUNT}"

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token['access_token']}", **kwargs.pop("headers", {})}
        return requests.request(method, base + path, headers=headers, timeout=10, **kwargs)

    return call


@pytest.fixture()
def xml_post(sandbox: SandboxControl, sandbox_server: SandboxServer) -> Callable[[str, bytes | str], requests.Response]:
    def call(service: str, body: bytes | str) -> requests.Response:
        data = body.encode() if isinstance(body, str) else body
        return requests.post(f"{sandbox_server.url}/tdsynnex/xml/SynnexXML/{service}", data=data, timeout=10,
                             headers={"Content-Type": "application/xml"})
    return call


@pytest.fixture()
def schema() -> Callable[[Any, str], None]:
    return validate_schema


@pytest.fixture()
def rpc_envelope() -> Callable[[Any], None]:
    return validate_envelope
