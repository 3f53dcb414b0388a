"""What Airflow's connection form shows for each channelsync connection type: declared once, as data.

:mod:`channelsync.provider` puts it in the provider info (``conn-fields`` and ``ui-field-behaviour``:
what Airflow 3.2+ renders, without importing a hook; the hook-level ``get_connection_form_widgets`` it
replaces is deprecated and needs wtforms, which Airflow 3 no longer installs). No Airflow or client
import here: Airflow reads the provider info in every process it starts.

Extra fields are stored in the connection's ``extra`` JSON under their plain names (the keys the
hooks read, listed in the README's connection table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["string", "integer", "number", "boolean", "password"]


@dataclass(frozen=True)
class ExtraField:
    label: str
    kind: Kind = "string"
    description: str = ""
    default: Any = None


@dataclass(frozen=True)
class ConnectionForm:
    conn_type: str
    hook_class: str  # dotted path, imported only when Airflow needs the hook
    hook_name: str
    hidden: tuple[str, ...] = ("schema", "port")
    relabeling: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)
    extras: dict[str, ExtraField] = field(default_factory=dict)

    def provider_entry(self) -> dict[str, Any]:
        """One ``connection-types`` item of the provider info."""
        return {
            "connection-type": self.conn_type,
            "hook-class-name": self.hook_class,
            "hook-name": self.hook_name,
            "ui-field-behaviour": {"hidden-fields": list(self.hidden), "relabeling": dict(self.relabeling),
                                   "placeholders": dict(self.placeholders)},
            "conn-fields": {name: _conn_field(extra) for name, extra in self.extras.items()},
        }


def _conn_field(extra: ExtraField) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string" if extra.kind == "password" else extra.kind, "null"]}
    if extra.kind == "password":
        schema["format"] = "password"  # Airflow masks it and treats it as a secret
    if extra.default is not None:
        schema["default"] = extra.default
    spec: dict[str, Any] = {"label": extra.label, "schema": schema}
    if extra.description:
        spec["description"] = extra.description
    return spec


FORMS: dict[str, ConnectionForm] = {
    form.conn_type: form
    for form in (
        ConnectionForm(
            conn_type="autotask",
            hook_class="channelsync.hooks.autotask.AutotaskHook",
            hook_name="Autotask PSA (channelsync)",
            relabeling={"host": "Zone-neutral base URL", "login": "API user name", "password": "API user secret"},
            placeholders={"host": "https://webservices.autotask.net", "login": "api.user@example.com",
                          "threshold_share": "0.5", "thread_limit": "3"},
            extras={
                "integration_code": ExtraField(
                    "API integration code", description="Required: the API tracking identifier "
                    "(ApiIntegrationCode header) of the API user"),
                "impersonation_resource_id": ExtraField(
                    "Impersonation resource id", "integer", "Optional: the resource writes are made as"),
                "threshold_share": ExtraField(
                    "Share of the hourly request threshold", "number", "Default 0.5: channelsync stops at this "
                    "share of the tenant's hourly threshold and defers the rest to the next run", 0.5),
                "thread_limit": ExtraField("Concurrent calls per entity", "integer", "Default 3 (Autotask's limit)", 3),
            },
        ),
        ConnectionForm(
            conn_type="connectwise",
            hook_class="channelsync.hooks.connectwise.ConnectWiseHook",
            hook_name="ConnectWise PSA (channelsync)",
            relabeling={"host": "Site URL", "login": "Company+Public key", "password": "Private key"},
            placeholders={"host": "https://api-na.myconnectwise.net", "login": "company+publickey",
                          "codebase": "v4_6_release/"},
            extras={
                "client_id": ExtraField(
                    "Client ID", description="Required: the clientId GUID from the ConnectWise developer portal"),
                "company": ExtraField(
                    "Company ID", description="The company id, when the login is only the public key"),
                "codebase": ExtraField("Codebase", description="Optional: skips codebase discovery"),
                "api_version": ExtraField("API version", description="Optional, e.g. 2025.8"),
                "requests_per_second": ExtraField(
                    "Requests per second", "number", "Optional client-side rate limit"),
            },
        ),
        ConnectionForm(
            conn_type="tdsynnex-xml",
            hook_class="channelsync.hooks.tdsynnex.TdSynnexXmlHook",
            hook_name="TD SYNNEX XML and flat file (channelsync)",
            relabeling={"host": "XML base URL (without /SynnexXML)", "login": "EC Express user",
                        "password": "EC Express password"},
            placeholders={"host": "https://ec.synnex.com"},
            extras={
                "customer_number": ExtraField(
                    "TD SYNNEX account number", description="Required: the customer (account) number"),
                "flatfile_url": ExtraField(
                    "Flat-file site URL", description="The daily catalog file site (same user and password); "
                    "needed by catalog_sync"),
            },
        ),
        ConnectionForm(
            conn_type="tdsynnex-ion",
            hook_class="channelsync.hooks.tdsynnex.TdSynnexIonHook",
            hook_name="TD SYNNEX StreamOne Ion (channelsync)",
            hidden=("schema", "port", "login", "password"),
            relabeling={"host": "Ion base URL"},
            placeholders={"host": "https://ion.tdsynnex.com"},
            extras={
                "account_id": ExtraField(
                    "Ion account id", description="Required: Quick Access → Account Information"),
                "refresh_token": ExtraField(
                    "Refresh token", "password", "Required: the first refresh token (portal → Users → OAuth "
                    "credentials). Ion rotates it on every use; channelsync keeps the rotated one in its state "
                    "store, so this field is only read until the first refresh"),
                "token_file": ExtraField(
                    "Token file", description="Optional: keep the rotated token in this file instead of the "
                    "state store"),
            },
        ),
        ConnectionForm(
            conn_type="crayon",
            hook_class="channelsync.hooks.crayon.CrayonHook",
            hook_name="Crayon Cloud-iQ (channelsync)",
            relabeling={"host": "API root", "login": "Cloud-iQ API user", "password": "Cloud-iQ password"},
            placeholders={"host": "https://api.crayon.com/api/v1", "page_size": "100"},
            extras={
                "client_id": ExtraField("API client id", description="Required: the API client registered in "
                                        "Cloud-iQ"),
                "client_secret": ExtraField("API client secret", "password", "Required"),
                "page_size": ExtraField("Page size", "integer", "Default 100", 100),
            },
        ),
        ConnectionForm(
            conn_type="pax8",
            hook_class="channelsync.hooks.pax8.Pax8Hook",
            hook_name="Pax8 (channelsync)",
            relabeling={"host": "API root", "login": "Client ID", "password": "Client secret"},
            placeholders={"host": "https://api.pax8.com/v1", "audience": "https://api.pax8.com",
                          "token_url": "https://token-manager.pax8.com/oauth/token", "page_size": "200"},
            extras={
                "audience": ExtraField("Audience", description="Optional, default https://api.pax8.com"),
                "token_url": ExtraField("Token URL", description="Optional, default <host>/token"),
                "page_size": ExtraField("Page size", "integer", "Default 200", 200),
            },
        ),
    )
}

# Connection types as they were named before RFC 3986 schemes (no "_"): still read, never written.
LEGACY_CONN_TYPES = {"tdsynnex_xml": "tdsynnex-xml", "tdsynnex_ion": "tdsynnex-ion"}


def current_conn_type(conn_type: str | None) -> str | None:
    """``tdsynnex_xml`` → ``tdsynnex-xml``; any other type unchanged."""
    return LEGACY_CONN_TYPES.get(conn_type or "", conn_type)
