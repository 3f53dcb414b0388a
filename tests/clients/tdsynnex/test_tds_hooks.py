"""Hooks build working clients from connection fields (no Airflow metadata DB needed for build_client)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from channelsync.hooks.tdsynnex import TdSynnexIonHook, TdSynnexXmlHook
from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer


def _conn(**fields: object) -> SimpleNamespace:
    extra = fields.pop("extra", {})
    return SimpleNamespace(extra_dejson=extra, extra=json.dumps(extra), **fields)


def test_ion_hook_persists_rotation_in_token_file(sandbox: SandboxControl, sandbox_server: SandboxServer,
                                                  tmp_path: Path) -> None:
    ion = demo_credentials.TDSYNNEX_ION
    conn = _conn(host=f"{sandbox_server.url}/tdsynnex/ion", login=None, password=None, extra={
        "account_id": ion["account_id"], "refresh_token": ion["refresh_token"],
        "token_file": str(tmp_path / "ion.token")})
    assert TdSynnexIonHook.conn_type == "tdsynnex-ion"
    TdSynnexIonHook().build_client(conn).ping()
    TdSynnexIonHook().build_client(conn).ping()  # a second "run": uses the rotated token from the file
    assert (tmp_path / "ion.token").read_text() not in ("", ion["refresh_token"])


def test_xml_hook_builds_xml_and_flatfile_clients(sandbox: SandboxControl, sandbox_server: SandboxServer) -> None:
    xml = demo_credentials.TDSYNNEX_XML
    conn = _conn(host=f"{sandbox_server.url}/tdsynnex/xml", login=xml["username"], password=xml["password"],
                 extra={"customer_number": xml["customer_number"],
                        "flatfile_url": f"{sandbox_server.url}/tdsynnex/ftp"})
    hook = TdSynnexXmlHook()
    hook.get_connection = lambda conn_id: conn  # type: ignore[method-assign,assignment,return-value]
    assert hook.test_connection() == (True, "Connection successfully tested")
    hook.get_flatfile_client().ping()
    assert TdSynnexXmlHook.conn_type == "tdsynnex-xml"
