"""The clients of one integration's systems, made once per (system, connection), for the tools that read
those systems outside a run: the mapping editor (``mapping_edit.py``) and the mapping pages' lookups
(``ui/option_lookups.py``). Clients hold cross-process slots (Autotask's thread leases):
:meth:`IntegrationClients.release_slots` gives them back, as a run does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ClientFactory = Callable[[str, str], Any]  # (system, conn_id) → client, as runs.context.hook_client_factory


class IntegrationClients:
    def __init__(self, integration: Any, *, client_factory: ClientFactory | None = None) -> None:
        self.integration = integration
        self._factory = client_factory
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, system: str, conn_id: str) -> Any:
        if (system, conn_id) not in self._clients:
            factory = self._factory
            if factory is None:
                from channelsync.runs.context import hook_client_factory

                factory = hook_client_factory
            self._clients[(system, conn_id)] = factory(system, conn_id)
        return self._clients[(system, conn_id)]

    def psa_client(self) -> Any:
        psa = self.integration.psa
        return self.client(psa.system, psa.conn_id)

    def release_slots(self) -> None:
        """Give back the cross-process slots the clients hold, as a run does."""
        for client in self._clients.values():
            release = getattr(client, "release_slots", None)
            if callable(release):
                release()
