"""The mappings of an integration, as tabs on its mapping pages and rows of the Mappings index: customer
mappings and service overrides (subscription_billing), category mappings (catalog_sync) — each shown
when the integration configures its template and the user may read that template's DAG."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from channelsync.templates.dag_builder import dag_id_for

from .app import load_config
from .security import access


@dataclass(frozen=True)
class Tab:
    name: str  # customers | categories | services
    label: str
    template: str  # whose DAG's permissions govern it
    suffix: str  # after /mappings/<integration>


TABS = (Tab("customers", "Customer mappings", "subscription_billing", ""),
        Tab("categories", "Category mappings", "catalog_sync", "/categories"),
        Tab("services", "Service overrides", "subscription_billing", "/services"))


def enabled(integration: Any, template: str) -> bool:
    found = integration.templates.get(template)
    return found is not None and bool(found.enabled)


def integration_with(name: str, template: str) -> Any | None:
    """The configured integration of that name that has ``template`` enabled, else None."""
    config, _ = load_config()
    return next((i for i in (config.integrations if config else []) if i.name == name and enabled(i, template)),
                None)


def tabs(request: Request, integration: Any) -> list[Tab]:
    allowed = access(request)
    return [tab for tab in TABS if enabled(integration, tab.template)
            and allowed.may_read(dag_id_for(integration.name, tab.template))]


def index(request: Request) -> list[tuple[Any, list[Tab]]]:
    """Every integration with a mapping the user may read, with its tabs."""
    config, _ = load_config()
    found = [(integration, tabs(request, integration)) for integration in (config.integrations if config else [])]
    return [(integration, shown) for integration, shown in found if shown]
