"""A real Airflow API server on loopback with the channelsync plugin loaded from ``plugins/``, its own
AIRFLOW_HOME, the demo DAGs parsed into its metadata database, and seeded run records.

Users (SimpleAuthManager, passwords = names): ``admin`` (Admin), ``viewer`` (Viewer: reads every DAG),
``outsider`` (signed in, no DAG at all), ``cwonly`` (only the demo-connectwise DAGs), by the test auth
manager in ``auth_manager.py``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.plugin.seed import Seeded, seed

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
USERS = {"admin": "admin", "viewer": "viewer", "outsider": "viewer", "cwonly": "viewer"}


@dataclass
class AirflowServer:
    url: str
    env: dict[str, str]
    home: Path
    seeded: Seeded

    def token(self, username: str) -> str:
        answer = requests.post(f"{self.url}/auth/token", json={"username": username, "password": username}, timeout=30)
        assert answer.status_code == 201, answer.text
        token: str = answer.json()["access_token"]
        return token

    def get(self, path: str, *, user: str | None = None, html: bool = False, cookie: bool = False,
            headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None,
            params: dict[str, object] | None = None) -> requests.Response:
        """GET as ``user`` (a bearer token, or the UI's cookie with ``cookie``), as a browser with ``html``."""
        headers = {**({"Accept": "text/html"} if html else {}), **(headers or {})}
        cookies = dict(cookies or {})
        if user and cookie:
            cookies["_token"] = self.token(user)
        elif user:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        return requests.get(f"{self.url}{path}", headers=headers, cookies=cookies, params=params,  # type: ignore[arg-type]
                            allow_redirects=False, timeout=60)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def airflow_env(home: Path, *, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "CHANNELSYNC_"))}
    env.update(
        AIRFLOW_HOME=str(home / "airflow"), CHANNELSYNC_HOME=str(home / "channelsync"),
        CHANNELSYNC_STATE_URL=f"sqlite:///{home / 'state.db'}",
        CHANNELSYNC_STAGING_URL=f"file://{home / 'staging'}",
        CHANNELSYNC_CONFIG=str(ROOT / "config" / "integrations.yaml"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"), AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__AUTH_MANAGER="tests.plugin.auth_manager.ScopedAuthManager",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=",".join(f"{u}:{role}" for u, role in USERS.items()),
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__API_AUTH__JWT_SECRET="channelsync-plugin-tests-only-" + "0123456789abcdef" * 4,
        PYTHONPATH=str(ROOT), PATH=f"{BIN}:{os.environ.get('PATH', '')}",
    )
    if port:
        env.update(AIRFLOW__API__PORT=str(port), AIRFLOW__API__HOST="127.0.0.1",
                   AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}")
    return env


def _airflow(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([str(BIN / "airflow"), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, seconds: int = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the API server exited ({process.returncode}):\n{log.read_text()[-4000:]}")
        try:
            if requests.get(f"{url}/api/v2/monitor/health", timeout=3).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(f"the API server did not answer within {seconds} s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def airflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowServer]:
    home = tmp_path_factory.mktemp("plugin")
    port = _free_port()
    env = airflow_env(home, port=port)
    (home / "passwords.json").write_text(json.dumps({user: user for user in USERS}))
    _airflow(env, "db", "migrate")
    _airflow(env, "dags", "reserialize")
    _airflow(env, "dags", "pause", "demo-connectwise__price_availability")
    seeded = seed(env["CHANNELSYNC_STATE_URL"], home / "staging")
    log = home / "api-server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([str(BIN / "airflow"), "api-server", "--port", str(port), "--workers", "1"],
                                   env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(url, process, log)
        yield AirflowServer(url=url, env=env, home=home, seeded=seeded)
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server's own process group, started above
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
