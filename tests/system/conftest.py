"""System-test fixtures: the production profile (scripts/demo_celery.sh) once per session, on the machine's
PostgreSQL and Redis. Skipped, with the reason, only when one of them does not answer.

PostgreSQL: the server of ``CHANNELSYNC_TEST_POSTGRES_URL`` (its database part is ignored), else
postgresql://postgres@127.0.0.1:5432. Redis: ``CHANNELSYNC_TEST_REDIS_URL``, else redis://127.0.0.1:6379/0.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from channelsync.sandbox.control_client import SandboxControl
from tests.e2e.smtp_sink import Sink, smtp_env, smtp_server
from tests.system.airflow_api import AirflowApi
from tests.system.profile import CeleryProfile, running_profile

PG_SERVER_URL = (os.environ.get("CHANNELSYNC_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test") \
    .rsplit("/", 1)[0]
REDIS_URL = os.environ.get("CHANNELSYNC_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"


def redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3, socket_timeout=3).ping())
    except redis.RedisError:
        return False


def _unavailable() -> str | None:
    try:
        engine = create_engine(f"{PG_SERVER_URL}/postgres", connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to answer is a reason to skip, named in the skip
        return f"PostgreSQL does not answer at {PG_SERVER_URL}: {str(exc).splitlines()[0]}"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3, socket_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis does not answer at {REDIS_URL}: {exc}"
    return None


LAST = "test_killed_worker.py"  # leaves the profile with one worker: after every other system test


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the killed-worker test behind the last other test of this folder (not to the end of the session:
    the profile stays up until its last test)."""
    here = Path(__file__).parent
    ours = [n for n, item in enumerate(items) if item.path.parent == here]
    last = [item for item in items if item.path.parent == here and item.path.name == LAST]
    if not ours or not last:
        return
    end = ours[-1]
    rest = [item for item in items[: end + 1] if item not in last]
    items[:] = rest + last + items[end + 1:]


@pytest.fixture(scope="session")
def profile_smtp() -> Iterator[tuple[Sink, int]]:
    """The SMTP server (and its port) the profile sends its alert e-mails to: every one is kept."""
    with smtp_server() as (sink, port):
        yield sink, port


@pytest.fixture()
def profile_mail(profile_smtp: tuple[Sink, int]) -> Sink:
    return profile_smtp[0]


@pytest.fixture(scope="session")
def celery_profile(profile_smtp: tuple[Sink, int]) -> Iterator[CeleryProfile]:
    """The profile's folder is its own temporary one, not pytest's (whose old folders other pytest sessions
    on the machine remove); removed afterwards unless CHANNELSYNC_KEEP_PROFILE=1 (its logs, for a look)."""
    reason = _unavailable()
    if reason:
        pytest.skip(f"the production profile needs PostgreSQL and Redis: {reason}")
    run_dir = Path(tempfile.mkdtemp(prefix="channelsync-profile-"))
    # Airflow's SMTP settings for the sink; the alerts' links keep the profile's own API address.
    smtp = {k: v for k, v in smtp_env(profile_smtp[1]).items() if k.startswith("AIRFLOW__SMTP__")}
    try:
        with running_profile(run_dir, PG_SERVER_URL, REDIS_URL, extra_env=smtp) as profile:
            yield profile
    finally:
        if os.environ.get("CHANNELSYNC_KEEP_PROFILE") == "1":
            print(f"\nthe production profile's folder (logs): {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture()
def profile_sandbox(celery_profile: CeleryProfile) -> SandboxControl:
    """The profile's sandbox, reset (small, seed 42: the reference run's world), no faults, empty logs."""
    control = SandboxControl(celery_profile.sandbox_url)
    control.reset(scale="small", seed=42)
    control.reset_concurrency()
    return control


@pytest.fixture()
def airflow_api(celery_profile: CeleryProfile) -> AirflowApi:
    return AirflowApi(celery_profile.api_url, "admin", celery_profile.admin_password)
