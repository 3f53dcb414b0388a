"""Shared fixtures: a real sandbox server on loopback, and state stores on SQLite and PostgreSQL; the work
units of a parallel run (``pytest -n 2``, scripts/test.sh)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer
from tests.e2e.smtp_sink import Sink, smtp_env, smtp_server
from tests.sandbox_servers import reset_sandbox, running_sandbox


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    yield from running_sandbox()


@pytest.fixture()
def sandbox(sandbox_server: SandboxServer) -> SandboxControl:
    return reset_sandbox(sandbox_server)


@pytest.fixture()
def mail(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    """A real SMTP server on loopback, Airflow's SMTP settings pointing at it for the test: what it got."""
    with smtp_server() as (sink, port):
        for name, value in smtp_env(port).items():
            monkeypatch.setenv(name, value)
        yield sink


# Folders whose tests share one session-scoped set-up (the production profile; the plugin's Airflow API
# server): each runs on one worker, as one unit, so the set-up is paid once. Every other module is a unit of
# its own (its module-scoped fixtures run once). The units are sent in collection order, these first, so
# the long ones do not start last and leave one worker idle at the end.
SHARED_SETUP_FOLDERS = ("tests/system/", "tests/plugin/")


def work_unit(nodeid: str) -> str:
    """The unit a test runs in: its shared-set-up folder, else its module."""
    folder = next((folder for folder in SHARED_SETUP_FOLDERS if nodeid.startswith(folder)), None)
    return folder or nodeid.split("::", 1)[0]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scope scheduler with our units (xdist's own ``xdist_group`` marks do not reach the node ids
    under pytest 9, which made a node id read-only)."""
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return WorkUnitScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Shared-set-up folders first (stable: the rest keeps its order), the same order run for run."""
    rank = {folder: n for n, folder in enumerate(SHARED_SETUP_FOLDERS)}
    items.sort(key=lambda item: rank.get(work_unit(item.nodeid), len(rank)))
