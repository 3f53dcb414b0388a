"""Everything one run of one template needs, built the same way in a task, the CLI and tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from channelsync import settings
from channelsync.clients.call_tally import CallTally
from channelsync.config import IntegrationConfig
from channelsync.templates.options_common import TemplateOptions

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from channelsync.state.ledger import Target

# (system, conn_id) → a plain client. The default builds it through the system's Airflow hook.
ClientFactory = Callable[[str, str], Any]


def client_from_connection(system: str, connection: Any, *, state_url: str | None) -> Any:
    """The plain client of ``system`` for an Airflow connection (or anything with its attributes).

    ``tdsynnex_flatfile`` is the daily catalog file, reached with the XML connection's login; Ion's
    rotated refresh tokens must outlive the task, so they live in the state store when there is one.
    Autotask's thread limit is held across processes with the state store's leases when there is one.
    """
    from channelsync.hooks.registry import hook_for

    if system == "tdsynnex_flatfile":
        return hook_for("tdsynnex_xml").build_flatfile_client(connection)
    hook = hook_for(system)(conn_id=connection.conn_id)
    if system == "tdsynnex_ion" and state_url:
        from channelsync.state.token_store import StateTokenStore

        hook.token_store = StateTokenStore(state_url, system=system, account=connection.conn_id,
                                           initial=connection.extra_dejson.get("refresh_token"))
    if system == "autotask" and state_url:
        hook.state_url = state_url
    return hook.build_client(connection)


def hook_client_factory(system: str, conn_id: str) -> Any:
    """The default factory: the connection from Airflow (a missing one is a coded error naming it), the
    client through the system's hook. The daily catalog file is reached with the XML connection."""
    from channelsync.hooks.registry import hook_for

    hook_system = "tdsynnex_xml" if system == "tdsynnex_flatfile" else system
    connection = hook_for(hook_system)(conn_id=conn_id).connection()
    return client_from_connection(system, connection, state_url=settings.state_url())


@dataclass
class RunContext:
    integration: IntegrationConfig
    template: str
    options: TemplateOptions
    run_key: str
    preview: bool = False
    # The DAG run's params beyond ``preview`` (a template's own, e.g. subscription_billing's invoice_id)
    params: dict[str, Any] = field(default_factory=dict)
    # The extras of the Asset events that triggered the run (data-aware scheduling), oldest first
    trigger_events: list[dict[str, Any]] = field(default_factory=list)
    state_url: str = field(default_factory=settings.state_url)
    client_factory: ClientFactory = hook_client_factory
    run_id: int | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    # The calls this context's stages sent (``clients/call_tally.py``): its own, also when its clients are
    # shared with other contexts running at the same time (mapped load tasks on threads of one process).
    _tally: CallTally = field(default_factory=CallTally, repr=False)
    _staging: ObjectStoragePath | None = field(default=None, repr=False)

    @property
    def staging(self) -> ObjectStoragePath:
        """The run's staging folder on object storage (``runs/staging.py``): shared by its tasks,
        wherever they run."""
        from channelsync.runs.staging import run_folder

        if self._staging is None:  # made once: on object storage every mkdir is a round trip
            self._staging = run_folder(self.integration.name, self.template, self.run_key)
        return self._staging

    @property
    def scratch(self) -> Path:
        """A local folder of this task for files a client must have on disk (a downloaded catalog)."""
        safe_key = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.run_key)[:150]
        path = settings.home() / "scratch" / self.integration.name / self.template / safe_key
        path.mkdir(parents=True, exist_ok=True)
        return path

    def client(self, system: str, conn_id: str) -> Any:
        """One client per (system, connection) per run, so its call counter covers the whole step."""
        key = (system, conn_id)
        if key not in self._clients:
            self._clients[key] = self.client_factory(system, conn_id)
        return self._clients[key]

    def psa_client(self) -> Any:
        return self.client(self.integration.psa.system, self.integration.psa.conn_id)

    def tdsynnex_client(self, system: str = "tdsynnex_xml") -> Any:
        """A TD SYNNEX client (``tdsynnex_xml``, or ``tdsynnex_flatfile``: the daily file, same login)
        on the integration's XML connection."""
        tdsynnex = self.integration.distributors["tdsynnex"]
        return self.client(system, tdsynnex.xml_conn_id or tdsynnex.conn_id or "")

    def psa_target(self) -> Target:
        """The PSA tenant this run writes to: the scope of exactly-once writes (not the integration)."""
        from channelsync.state.ledger import Target

        psa = self.integration.psa
        tenant = getattr(self.psa_client(), "tenant_id", None)
        return Target(system=psa.system, tenant=str(tenant) if tenant else f"{psa.system}:{psa.conn_id}")

    def release_slots(self) -> None:
        """Give back the cross-process concurrency slots the clients hold (the Autotask lease cap), so
        another integration's load gets them now instead of when they expire."""
        for client in self._clients.values():
            release = getattr(client, "release_slots", None)
            if callable(release):
                release()

    def counting_calls(self) -> AbstractContextManager[CallTally]:
        """Count the calls sent from here on (this thread, and the pools it starts) as this context's."""
        return self._tally.current()

    def api_calls(self) -> dict[str, int]:
        """Calls this context's stages sent (attempts included) through its clients, by system: counted
        while :meth:`counting_calls` was in effect, so a shared client's calls for other tasks are not."""
        calls: dict[str, int] = {}
        for (system, _conn), client in self._clients.items():
            transport = getattr(client, "transport", None)
            if transport is not None:
                calls[system] = calls.get(system, 0) + self._tally.count(transport)
        return calls
