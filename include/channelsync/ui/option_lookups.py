"""Reads the category-mapping and service-override pages make of the integration's systems, only when a
person asks (a link on the page), to fill in the form — never to save anything: TD SYNNEX's category list
(``category_list.txt`` next to the daily file), the PSA's product categories (Autotask's product category
picklist, ConnectWise's procurement subcategories: what catalog_sync can file a product under) and the
PSA's services (what subscription_billing can bill a SKU to). Clients are made once per (system,
connection) and hold cross-process slots (Autotask's thread leases): :meth:`Lookups.release_slots` gives them back.
"""

from __future__ import annotations

from typing import Any

from channelsync.integration_clients import IntegrationClients

SERVICES_SHOWN = 50


class Lookups(IntegrationClients):
    def distributor_categories(self) -> dict[str, str]:
        """TD SYNNEX's category codes with their (level-1) description, from the daily file's site."""
        tdsynnex = self.integration.distributors["tdsynnex"]
        client = self.client("tdsynnex_flatfile", tdsynnex.xml_conn_id or tdsynnex.conn_id or "")
        return dict(sorted(client.categories().items()))

    def psa_categories(self) -> list[str]:
        """The category names a mapping may name on the integration's PSA."""
        from channelsync.adapters.psa_products import product_adapter

        adapter: Any = product_adapter(self.integration.psa.system, self.psa_client())
        names: list[str] = adapter.category_names()
        return names

    def psa_services(self, find: str = "") -> list[dict[str, Any]]:
        """The PSA's services (id, name, period) whose name contains ``find`` (case-insensitive), by name,
        at most :data:`SERVICES_SHOWN`."""
        from channelsync.adapters.psa_services import ServiceSettings, service_adapter

        adapter = service_adapter(self.integration.psa.system, self.psa_client(), ServiceSettings(billing_code=None))
        frame = adapter.read_services()
        wanted = " ".join(str(find or "").split()).casefold()
        rows = [{"psa_id": str(r.psa_id), "name": str(r.name), "period": None if r.period is None else str(r.period)}
                for r in frame.astype(object).where(frame.notna(), None).itertuples(index=False)
                if not wanted or wanted in str(r.name).casefold()]
        return sorted(rows, key=lambda r: (str(r["name"]).casefold(), str(r["psa_id"])))[:SERVICES_SHOWN]
