"""A real Airflow API server on loopback with the channelsync plugin loaded from ``plugins/``, its own
AIRFLOW_HOME, the demo DAGs parsed into its metadata database, seeded run records, and two real failed
DAG runs (``dag.test()`` of the templates in ``rerun_template.py``, integration ``acme``) to rerun. Its
Airflow connections point at a sandbox server on loopback (the PSA and distributors the mapping pages
check against).

Users (SimpleAuthManager, passwords = names): ``admin`` (Admin), ``viewer`` (Viewer: reads every DAG,
changes none), ``outsider`` (signed in, no DAG at all), ``cwonly`` (reads only the demo-connectwise
DAGs), ``cweditor`` (User role, may edit — only the demo-connectwise DAGs), by the test auth manager in
``auth_manager.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
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

from channelsync.sandbox.server import SandboxServer
from tests.plugin.seed import BillingKeys, Seeded, billing_keys, seed

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
USERS = {"admin": "admin", "viewer": "viewer", "outsider": "viewer", "cwonly": "viewer", "cweditor": "user"}


@dataclass
class AirflowServer:
    url: str
    env: dict[str, str]
    home: Path
    seeded: Seeded
    dag_runs: dict[str, str]  # acme's rerun DAGs → the run id dag.test() made
    billing: BillingKeys

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

    def browser(self, user: str) -> Browser:
        return Browser(self, user)

    def api(self, method: str, path: str, *, user: str = "admin", **kwargs: object) -> requests.Response:
        """Airflow's own REST API (``/api/v2/…``) as ``user``."""
        headers = {"Authorization": f"Bearer {self.token(user)}"}
        return requests.request(method, f"{self.url}/api/v2{path}", headers=headers, timeout=60,
                                **kwargs)  # type: ignore[arg-type]


CSRF_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


class Browser:
    """A signed-in browser as Airflow's UI leaves it: the ``_token`` cookie, and whatever cookies the
    pages set. Forms are posted with the page's hidden CSRF field and this server as the Origin, as a
    browser does; each of those can be left out or changed to see the refusal."""

    def __init__(self, server: AirflowServer, user: str) -> None:
        self.server, self.user = server, user
        self.session = requests.Session()
        self.session.cookies.set("_token", server.token(user), domain="127.0.0.1", path="/")

    def page(self, path: str, **params: object) -> requests.Response:
        return self.session.get(f"{self.server.url}{path}", params=params, headers={"Accept": "text/html"},  # type: ignore[arg-type]
                                allow_redirects=False, timeout=120)

    def csrf(self, path: str) -> str:
        """The hidden field of a page's forms (the page also sets the session's CSRF cookie)."""
        answer = self.page(path)
        assert answer.status_code == 200, answer.text[:500]
        found = CSRF_FIELD.search(answer.text)
        assert found, f"no form on {path}"
        return found.group(1)

    def signed_csrf(self) -> str:
        """A valid token for a user whose pages carry no form (read-only): made as the server makes it —
        a session nonce in the cookie, HMAC'd with the key derived from ``[api] secret_key`` — so the
        permission check behind the CSRF check can be reached."""
        nonce = secrets.token_urlsafe(32)
        self.session.cookies.set("channelsync_csrf", nonce, domain="127.0.0.1", path="/channelsync")
        key = hashlib.sha256(b"channelsync-csrf\0" + self.server.env["AIRFLOW__API__SECRET_KEY"].encode()).digest()
        return hmac.new(key, f"{nonce}|{self.user}".encode(), hashlib.sha256).hexdigest()

    def post(self, path: str, data: dict[str, str], *, origin: str | None = "", html: bool = False,
             headers: dict[str, str] | None = None) -> requests.Response:
        """POST a form; ``origin`` "" means this server, None sends no Origin header."""
        sent = {"Accept": "text/html" if html else "application/json", **(headers or {})}
        if origin is not None:
            sent["Origin"] = origin or self.server.url
        return self.session.post(f"{self.server.url}{path}", data=data, headers=sent, allow_redirects=False,
                                 timeout=120)


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
        AIRFLOW__API__SECRET_KEY="channelsync-plugin-tests-secret-key-" + "fedcba9876543210" * 2,
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


def _sandbox_connections(sandbox_url: str) -> dict[str, str]:
    """The sandbox's Airflow connections as ``AIRFLOW_CONN_*`` variables (the demo integrations' ids)."""
    from airflow.models import Connection

    from channelsync.connections import connections_from_settings

    found = {}
    for fields in connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=sandbox_url).values():
        connection = Connection(conn_id=fields.conn_id, conn_type=fields.conn_type, host=fields.host,
                                login=fields.login, password=fields.password, extra=json.dumps(fields.extra_dejson))
        found[f"AIRFLOW_CONN_{fields.conn_id.upper()}"] = connection.get_uri()
    return found


def _dags_folder(home: Path) -> Path:
    """The demo's DAG files and the rerun tests' DAG file, in one folder (one bundle: ``dag.test()`` syncs
    the bundle of the DAG it runs)."""
    from tests.plugin.rerun_template import DAG_FILE

    folder = home / "dags"
    folder.mkdir()
    for source in sorted((ROOT / "dags").glob("*.py")):
        shutil.copy(source, folder / source.name)
    (folder / "rerun_dags.py").write_text(DAG_FILE)
    return folder


def _failed_runs(env: dict[str, str], folder: Path) -> dict[str, str]:
    result = subprocess.run([sys.executable, str(folder / "rerun_dags.py")], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs: dict[str, list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    assert all(state == "failed" for _, state in runs.values()), runs
    return {dag_id: run_id for dag_id, (run_id, _) in runs.items()}


@pytest.fixture(scope="session")
def airflow_server(tmp_path_factory: pytest.TempPathFactory, sandbox_server: SandboxServer) -> Iterator[AirflowServer]:
    home = tmp_path_factory.mktemp("plugin")
    port = _free_port()
    env = airflow_env(home, port=port)
    env.update(_sandbox_connections(sandbox_server.url), AIRFLOW__CORE__DAGS_FOLDER=str(_dags_folder(home)),
               POSTING_LOG=str(home / "posted.log"))
    (home / "passwords.json").write_text(json.dumps({user: user for user in USERS}))
    _airflow(env, "db", "migrate")
    _airflow(env, "dags", "reserialize")
    _airflow(env, "dags", "pause", "demo-connectwise__price_availability")
    dag_runs = _failed_runs(env, Path(env["AIRFLOW__CORE__DAGS_FOLDER"]))
    keys = billing_keys(sandbox_server.url)
    seeded = seed(env["CHANNELSYNC_STATE_URL"], home / "staging", billing=keys)
    log = home / "api-server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([str(BIN / "airflow"), "api-server", "--port", str(port), "--workers", "1"],
                                   env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(url, process, log)
        yield AirflowServer(url=url, env=env, home=home, seeded=seeded, dag_runs=dag_runs, billing=keys)
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server's own process group, started above
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
