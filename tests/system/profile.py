"""The production profile as the system tests run it: ``scripts/demo_celery.sh`` itself, in a session of its
own, on free loopback ports, throw-away databases (``channelsync_airflow_<id>``, ``channelsync_state_<id>``)
and its own Redis key prefix; stopped (every process of every session it started) and its databases
dropped afterwards.

The demo integrations' file is used with two changes: every schedule is the 29th of February, so nothing
runs unless a test triggers it (a cron schedule runs once as soon as its DAG is unpaused otherwise); and a
second Autotask integration, ``demo-autotask-twin`` (demo-autotask's catalog_sync on the same connection:
one Autotask database, two integrations), for the limits test.

A lost worker costs Airflow its heartbeat timeout plus the task's retry delay (300 s + 60–120 s by default):
the profile shortens both (:data:`AIRFLOW_FOR_TESTS`), so a killed worker's task is retried within ~30 s.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis
import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "demo_celery.sh"
NEVER = "0 0 29 2 *"  # the next 29th of February is years away: runs only when triggered
WORKLOAD = re.compile(r"Executing workload in Celery: .*?task_id='(?P<task_id>[^']+)', dag_id='(?P<dag_id>[^']+)', "
                      r"run_id='(?P<run_id>[^']+)', try_number=(?P<try_number>\d+)")
START_TIMEOUT_S = 300
STOP_TIMEOUT_S = 60
TWIN = "demo-autotask-twin"
DEMO_INTEGRATIONS = ("demo-autotask", "demo-connectwise")
# Airflow settings of the test profile (docs/deployment.md, "the system tests' profile").
AIRFLOW_FOR_TESTS = {
    # A task without a heartbeat for this long is failed (default 300 s); its supervisor beats every
    # [workers] min_heartbeat_interval (5 s), so 20 s is four missed beats.
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    # The DAGs retry with exponential backoff (retry_delay 60 s: a first retry after 60–119 s); Airflow caps
    # a backoff delay at [core] max_task_retry_delay.
    "AIRFLOW__CORE__MAX_TASK_RETRY_DELAY": "5",
    # Room for the killed-worker test's loads, all on one worker at once (four templates, mapped loads).
    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "8",
    "AIRFLOW__CORE__PARALLELISM": "16",
}


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def triggered_only_config(path: Path) -> Path:
    """config/integrations.yaml with every template's schedule set to :data:`NEVER`, and :data:`TWIN`."""
    config = yaml.safe_load((ROOT / "config" / "integrations.yaml").read_text())
    original = next(i for i in config["integrations"] if i["name"] == "demo-autotask")
    twin = copy.deepcopy(original)
    twin.update(name=TWIN, description="demo-autotask's catalog on the same Autotask database (system tests)",
                templates={"catalog_sync": original["templates"]["catalog_sync"]},
                alerts={"emails": original["alerts"]["emails"]})
    config["integrations"].append(twin)
    for integration in config["integrations"]:
        for template in integration.get("templates", {}).values():
            template["schedule"] = NEVER
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def session_members(session_id: int) -> list[int]:
    """Pids of every live process of a session (from /proc: field 6 of stat is the session id)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session_id and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def session_of(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except ProcessLookupError:
        return None


@dataclass
class CeleryProfile:
    """One running profile: its addresses, its services' pids (each the id of its session) and the run folder."""

    run_dir: Path
    pg_url: str
    redis_url: str
    profile_id: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    extra_env: dict[str, str] = field(default_factory=dict)  # more settings for every service (SMTP …)
    env_file: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        return self.env_file["API_URL"]

    @property
    def sandbox_url(self) -> str:
        return self.env_file["SANDBOX_URL"]

    @property
    def state_url(self) -> str:
        return self.env_file["STATE_URL"]

    @property
    def config_path(self) -> Path:
        """The integrations file the profile's DAGs are built from (:func:`triggered_only_config`)."""
        return self.run_dir / "integrations.yaml"

    @property
    def admin_password(self) -> str:
        return _read_env(self.run_dir / "secrets.env")["ADMIN_PASSWORD"]

    @property
    def fernet_key(self) -> str:
        return _read_env(self.run_dir / "secrets.env")["FERNET_KEY"]

    def pid(self, service: str) -> int:
        return int(self.env_file[f"PID_{service.replace('-', '_')}"])

    @property
    def workers(self) -> dict[str, int]:
        return {name.removeprefix("PID_").replace("_", "-"): int(pid) for name, pid in self.env_file.items()
                if name.startswith("PID_worker_")}

    def log(self, service: str) -> str:
        path = self.run_dir / "logs" / f"{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def workloads(self, worker: str, run_id_prefix: str = "") -> list[dict[str, str]]:
        """The task instances ``worker`` was handed (its log's "Executing workload" lines), of runs whose
        id starts with ``run_id_prefix``."""
        found = []
        for match in WORKLOAD.finditer(self.log(worker)):
            if match["run_id"].startswith(run_id_prefix):
                found.append(match.groupdict())
        return found

    # -- start and stop ------------------------------------------------------------------------------
    def start(self) -> CeleryProfile:
        api, sandbox, trigger_logs, *worker_logs = free_ports(5)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AIRFLOW_", "CHANNELSYNC_")) and k not in ("SANDBOX_URL", "REDIS_URL")}
        env.update(
            CHANNELSYNC_PROFILE=self.profile_id, CHANNELSYNC_PROFILE_DIR=str(self.run_dir),
            CHANNELSYNC_PROFILE_UNPAUSE="0", CHANNELSYNC_PG_URL=self.pg_url, REDIS_URL=self.redis_url,
            CHANNELSYNC_CONFIG=str(triggered_only_config(self.config_path)),
            PORT=str(api), SANDBOX_PORT=str(sandbox), TRIGGER_LOG_PORT=str(trigger_logs),
            WORKER_LOG_PORTS=" ".join(map(str, worker_logs)), SCALE="small", **AIRFLOW_FOR_TESTS,
        )
        env.update(self.extra_env)
        output = (self.run_dir / "profile.out").open("wb")
        self.process = subprocess.Popen(["bash", str(SCRIPT)], cwd=ROOT, env=env, stdout=output,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        ready = self.run_dir / "profile.env"
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the production profile did not start:\n{self.output()[-4000:]}")
            time.sleep(1)
        self.env_file = _read_env(ready)
        return self

    def output(self) -> str:
        path = self.run_dir / "profile.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> list[int]:
        """Stop the script (its trap stops the services), then kill whatever is left of any session it
        started; drop the databases. Returns the pids that had to be killed here (none, normally)."""
        sessions = [int(pid) for name, pid in self.env_file.items() if name.startswith("PID_")]
        if self.process is not None:
            sessions.append(self.process.pid)
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=STOP_TIMEOUT_S)
        leftovers = [pid for session in sessions for pid in session_members(session)]
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process is not None and self.process.poll() is None:
            self.process.wait(timeout=10)
        self._drop_databases()
        self._remove_broker_keys()
        return leftovers

    def _remove_broker_keys(self) -> None:
        """The keys of this profile's broker (the script prefixes them with ``channelsync_<profile>:``)."""
        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        try:
            keys = list(client.scan_iter(match=f"channelsync_{self.profile_id}:*", count=500))
            if keys:
                client.delete(*keys)
        finally:
            client.close()

    def _drop_databases(self) -> None:
        admin = create_engine(f"{self.pg_url}/postgres", isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                for prefix in ("channelsync_airflow_", "channelsync_state_"):
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{prefix}{self.profile_id}" WITH (FORCE)'))
        finally:
            admin.dispose()

    def reset_state_store(self) -> None:
        """Empty every table of the state store (the schema stays): the next runs start as on a new install."""
        engine = create_engine(self.state_url)
        try:
            with engine.begin() as connection:
                tables = connection.execute(text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )).scalars().all()
                if tables:
                    names = ", ".join(f'"{name}"' for name in tables)
                    connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        finally:
            engine.dispose()

    @property
    def task_log_dir(self) -> Path:
        return Path(self.env_file["LOG_DIR"]) / "tasks"

    # -- Celery's remote control -------------------------------------------------------------------------
    def consume(self, worker: str, on: bool) -> None:
        """Make ``worker`` stop (``on=False``) or resume taking tasks from the queue, through Celery's remote
        control (what ``celery control cancel_consumer / add_consumer`` sends): the tests choose which worker
        runs a task. The tasks it runs already go on; none is waiting in it (Airflow's Celery settings:
        prefetch multiplier 1, late acks)."""
        from celery import Celery

        app = Celery(broker=self.redis_url, broker_transport_options={
            "global_keyprefix": f"channelsync_{self.profile_id}:", "visibility_timeout": 21600})
        try:
            destination = [f"{worker}@{socket.gethostname()}"]
            command = app.control.add_consumer if on else app.control.cancel_consumer
            replies = command("default", destination=destination, reply=True, timeout=10)
            assert replies and "ok" in next(iter(replies[0].values())), (worker, on, replies)
        finally:
            app.close()

    # -- faults --------------------------------------------------------------------------------------
    def kill_worker(self, name: str) -> list[int]:
        """``kill -9`` every process of the worker (its Celery main process, pool processes, the task
        supervisors and task processes): a machine lost. Returns the pids killed."""
        members = session_members(self.workers[name])
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return members

    def worker_running(self, pid: int) -> str | None:
        """The worker whose session holds ``pid`` (a task process), or None."""
        session = session_of(pid)
        return next((name for name, leader in self.workers.items() if leader == session), None)


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


@contextlib.contextmanager
def running_profile(run_dir: Path, pg_url: str, redis_url: str,
                    extra_env: dict[str, str] | None = None) -> Iterator[CeleryProfile]:
    profile = CeleryProfile(run_dir=run_dir, pg_url=pg_url, redis_url=redis_url, extra_env=dict(extra_env or {}))
    profile.start()
    try:
        yield profile
    finally:
        leftovers = profile.stop()
        assert leftovers == [], f"processes left running by the profile (killed now): {leftovers}"
