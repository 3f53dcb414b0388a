"""channelsync as an Airflow provider: the six connection types in Airflow's connection form, each hook
testable from it (authenticate + one cheap read), failures naming the connection and never its secret."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from channelsync.connections import ConnectionFields, connections_from_settings
from channelsync.hooks.base import ConnectionInvalid, ConnectionMissing
from channelsync.hooks.forms import FORMS
from channelsync.imports import load_object
from channelsync.provider import get_provider_info
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
CONN_TYPES = {"autotask", "connectwise", "tdsynnex-xml", "tdsynnex-ion", "crayon", "pax8"}
# conn_id in airflow_settings.yaml → its connection type
SANDBOX_CONNECTIONS = {
    "sandbox_autotask": "autotask", "sandbox_connectwise": "connectwise", "sandbox_tdsynnex_xml": "tdsynnex-xml",
    "sandbox_tdsynnex_ion": "tdsynnex-ion", "sandbox_crayon": "crayon", "sandbox_pax8": "pax8",
}
WRONG = "wrong-secret-5a1f9c"


def _hook_class(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return load_object(f"{module}:{name}")


def test_provider_info_declares_each_hook_as_it_is() -> None:
    info = get_provider_info()
    assert info["package-name"] == "channelsync" and info["name"] and info["description"] and info["versions"]
    entries = {entry["connection-type"]: entry for entry in info["connection-types"]}
    assert set(entries) == CONN_TYPES
    for conn_type, entry in entries.items():
        assert "_" not in conn_type  # RFC 3986 schemes: Airflow warns about "_"
        hook = _hook_class(entry["hook-class-name"])
        assert hook.conn_type == conn_type and hook.hook_name == entry["hook-name"]
        # Airflow builds the hook as hook_class(**{conn_name_attr: conn_id}): it must be a real argument.
        assert hook.conn_name_attr in inspect.signature(hook.__init__).parameters, hook
        assert hook(**{hook.conn_name_attr: "some_id"}).conn_id == "some_id"
        assert set(entry["conn-fields"]) == set(FORMS[conn_type].extras)


def test_airflow_lists_the_six_connection_types_and_their_forms(tmp_path: Path) -> None:
    """What Airflow itself discovers from the installed package's entry point, in a fresh process."""
    script = textwrap.dedent(
        """
        import json, warnings
        warnings.simplefilter("ignore")
        from airflow.providers_manager import ProvidersManager
        from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

        pm = ProvidersManager()
        types = ("autotask", "connectwise", "tdsynnex-xml", "tdsynnex-ion", "crayon", "pax8")
        hooks = {t: (pm.hooks[t].hook_class_name, pm.hooks[t].connection_id_attribute_name)
                 for t in types if pm.hooks.get(t)}
        widgets = {k: {"sensitive": w.is_sensitive} for k, w in pm.connection_form_widgets.items()
                   if k.split("__")[1] in types}
        behaviours = {t: pm.field_behaviours.get(t) for t in types}
        ui = {m.connection_type: {"hook_name": m.hook_name, "extra": sorted(m.extra_fields or {}),
                                  "host": m.standard_fields.host.title if m.standard_fields else None}
              for m in HookMetaService.hook_meta_data() if m.connection_type in types}
        print(json.dumps({"hooks": hooks, "widgets": widgets, "behaviours": behaviours, "ui": ui,
                          "legacy": [t for t in pm.hooks if t.startswith("tdsynnex_")]}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_")}
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180, env=env,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report["hooks"]) == CONN_TYPES
    for conn_type, (class_name, attribute) in report["hooks"].items():
        assert class_name == FORMS[conn_type].hook_class and attribute == "conn_id"
    assert set(report["ui"]) == CONN_TYPES  # the connection form's type list
    assert report["legacy"] == []
    widgets = report["widgets"]
    for field in ("extra__autotask__integration_code", "extra__connectwise__client_id",
                  "extra__connectwise__company", "extra__tdsynnex-xml__customer_number",
                  "extra__tdsynnex-ion__account_id", "extra__crayon__client_id"):
        assert widgets[field] == {"sensitive": False}, field
    for field in ("extra__tdsynnex-ion__refresh_token", "extra__crayon__client_secret"):
        assert widgets[field] == {"sensitive": True}, field
    assert report["ui"]["autotask"]["extra"] == sorted(FORMS["autotask"].extras)
    assert report["ui"]["connectwise"]["host"] == "Site URL"
    ion = report["behaviours"]["tdsynnex-ion"]
    assert {"login", "password"} <= set(ion["hidden_fields"])
    assert report["behaviours"]["autotask"]["relabeling"]["login"] == "API user name"
    for line in result.stderr.splitlines():
        assert "channelsync" not in line, line  # no import failure or inconsistency warning about our hooks


# --- test_connection() through Airflow, as the connection form's Test button does -----------------


@pytest.fixture()
def sandbox_connections(sandbox: SandboxControl, sandbox_server: SandboxServer, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> dict[str, ConnectionFields]:
    """The sandbox's connections, and a fresh state store (where Ion's rotated token is kept)."""
    from channelsync.state.db import upgrade

    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("CHANNELSYNC_STATE_URL", url)
    monkeypatch.setenv("CHANNELSYNC_HOME", str(tmp_path / "home"))
    upgrade(url)
    return connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=sandbox_server.url)


def _airflow_test(fields: ConnectionFields, monkeypatch: pytest.MonkeyPatch, conn_id: str | None = None,
                  **changes: Any) -> tuple[bool, str]:
    """``Connection.test_connection()`` the way Airflow's API runs it: the connection in an
    ``AIRFLOW_CONN_*`` variable, the hook found by connection type."""
    from airflow.models import Connection

    values = {"host": fields.host, "login": fields.login, "password": fields.password,
              "extra": dict(fields.extra_dejson)} | changes
    connection = Connection(conn_id=conn_id or fields.conn_id, conn_type=fields.conn_type, host=values["host"],
                            login=values["login"], password=values["password"], extra=json.dumps(values["extra"]))
    monkeypatch.setenv(f"AIRFLOW_CONN_{connection.conn_id.upper()}", connection.get_uri())
    status, message = connection.test_connection()
    return bool(status), str(message)


@pytest.mark.parametrize("conn_id", sorted(SANDBOX_CONNECTIONS))
def test_test_connection_succeeds_against_the_sandbox(conn_id: str, sandbox_connections: dict[str, ConnectionFields],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fields = sandbox_connections[conn_id]
    assert fields.conn_type == SANDBOX_CONNECTIONS[conn_id]
    assert _airflow_test(fields, monkeypatch) == (True, "Connection successfully tested")


@pytest.mark.parametrize("conn_id", sorted(SANDBOX_CONNECTIONS))
def test_bad_secret_fails_naming_the_connection_without_the_secret(
    conn_id: str, sandbox_connections: dict[str, ConnectionFields], monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = sandbox_connections[conn_id]
    if fields.conn_type == "tdsynnex-ion":  # Ion's secret is the refresh token
        status, message = _airflow_test(fields, monkeypatch, conn_id="ion_wrong_token",
                                        extra={**fields.extra_dejson, "refresh_token": WRONG})
        expected_id = "ion_wrong_token"
    else:
        status, message = _airflow_test(fields, monkeypatch, password=WRONG)
        expected_id = conn_id
    assert status is False, message
    assert f"'{expected_id}'" in message, message
    assert WRONG not in message and (fields.password or WRONG) not in message, message


def test_ion_test_keeps_the_rotated_token_for_the_runs(sandbox_connections: dict[str, ConnectionFields],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Ion refresh tokens are single use: testing twice (or testing, then running) must not present
    a spent token, so the test keeps the rotated one where the runs read it."""
    from channelsync.runs.context import client_from_connection

    fields = sandbox_connections["sandbox_tdsynnex_ion"]
    assert _airflow_test(fields, monkeypatch) == (True, "Connection successfully tested")
    assert _airflow_test(fields, monkeypatch) == (True, "Connection successfully tested")
    client_from_connection("tdsynnex_ion", fields, state_url=os.environ["CHANNELSYNC_STATE_URL"]).ping()


def test_missing_connection_and_missing_field_name_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    from channelsync.hooks.autotask import AutotaskHook
    from channelsync.hooks.tdsynnex import TdSynnexXmlHook

    monkeypatch.delenv("AIRFLOW_CONN_NOT_DEFINED_ANYWHERE", raising=False)
    hook = AutotaskHook(conn_id="not_defined_anywhere")
    with pytest.raises(ConnectionMissing, match="'not_defined_anywhere'"):
        hook.get_conn()
    status, message = hook.test_connection()
    assert status is False and "'not_defined_anywhere'" in message and "is not defined" in message

    incomplete = ConnectionFields(conn_id="xml_without_account", conn_type="tdsynnex-xml", host="https://x.example",
                                  login="u", password="p")
    with pytest.raises(ConnectionInvalid, match=r"'xml_without_account'.*customer_number"):
        TdSynnexXmlHook().build_client(incomplete)
    with pytest.raises(ValueError, match="'xml_without_account'"):  # still a ValueError for older callers
        TdSynnexXmlHook.build_flatfile_client(incomplete)


def test_refused_credentials_in_a_run_name_the_connection(sandbox_connections: dict[str, ConnectionFields]) -> None:
    """A client built by a hook (as the runs build them) says which connection was refused."""
    from channelsync.errors import FatalApiError
    from channelsync.runs.context import client_from_connection

    fields = sandbox_connections["sandbox_connectwise"]
    wrong = ConnectionFields(**{**fields.__dict__, "password": WRONG})
    client = client_from_connection("connectwise", wrong, state_url=None)
    with pytest.raises(FatalApiError) as error:
        client.ping()
    assert "'sandbox_connectwise'" in str(error.value) and WRONG not in str(error.value)

