"""Airflow hook for ConnectWise PSA (Manage) REST 3.0.

Connection (conn_type ``connectwise``, default conn id ``connectwise_default``):

- ``host``: the site base URL, scheme included, e.g. ``https://api-na.myconnectwise.net`` (the
  ``api-`` host is required on cloud) or the sandbox ``http://127.0.0.1:8700/connectwise``;
- ``login``: ``company+publickey`` (e.g. ``channelsync+sandboxpublickey``), or just the public key
  when ``extra.company`` is set;
- ``password``: the API member's private key;
- ``extra``: ``{"client_id": "<developer-portal GUID>", "company": "<company id>",
  "codebase": "v4_6_release/" (optional; skips discovery), "api_version": "2025.8" (optional),
  "requests_per_second": 15 (optional client-side limiter)}``.
"""

from __future__ import annotations

from typing import Any

from channelsync.clients.connectwise import ConnectWiseClient
from channelsync.hooks.base import ChannelsyncHook


class ConnectWiseHook(ChannelsyncHook):
    default_conn_name = "connectwise_default"
    conn_type = "connectwise"
    hook_name = "ConnectWise PSA (channelsync)"

    def make_client(self, connection: Any) -> ConnectWiseClient:
        extra = connection.extra_dejson or {}
        return client_from_fields(self.require_host(connection), connection.login or "", connection.password or "",
                                  extra)


def client_from_fields(host: str, login: str, password: str, extra: dict[str, Any]) -> ConnectWiseClient:
    """The client for these connection fields (separate from Airflow so it is testable without it)."""
    company = str(extra.get("company") or "")
    public_key = login
    if "+" in login:
        login_company, _, public_key = login.partition("+")
        company = company or login_company
    if not company:
        raise ValueError("ConnectWise connection needs a company: login 'company+publickey' or extra.company")
    if not extra.get("client_id"):
        raise ValueError("ConnectWise connection needs extra.client_id (the developer-portal clientId)")
    rate = extra.get("requests_per_second")
    return ConnectWiseClient(
        site_url=host, company=company, public_key=public_key, private_key=password,
        client_id=str(extra["client_id"]), codebase=extra.get("codebase"), api_version=extra.get("api_version"),
        requests_per_second=float(rate) if rate else None,
    )
