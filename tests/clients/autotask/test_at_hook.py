"""The Airflow hook builds the client from a connection (no network at build time)."""

from __future__ import annotations

import json

import pytest

from channelsync.hooks.autotask import AutotaskHook, build_autotask_client
from channelsync.sandbox import demo_credentials
from channelsync.sandbox.server import SandboxServer

CREDS = demo_credentials.AUTOTASK


def test_builds_a_client_from_connection_fields(sandbox_server: SandboxServer) -> None:
    from airflow.models.connection import Connection

    connection = Connection(
        conn_id="autotask_test", conn_type="autotask", host=f"{sandbox_server.url}/autotask",
        login=CREDS["username"], password=CREDS["secret"],
        extra=json.dumps({"integration_code": CREDS["integration_code"], "threshold_share": 0.4,
                          "impersonation_resource_id": "29682885"}),
    )
    client = AutotaskHook(conn_id="autotask_test").build_client(connection)
    assert client.budget.share == 0.4 and client.impersonation_resource_id == 29682885
    assert CREDS["secret"] not in repr(client)
    client.ping()  # what test_connection calls


def test_missing_integration_code_is_refused() -> None:
    with pytest.raises(ValueError, match="integration_code"):
        build_autotask_client(host="https://webservices.autotask.net", login="u", password="p", extra={})
