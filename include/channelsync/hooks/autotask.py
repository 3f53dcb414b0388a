"""Airflow hook for Autotask PSA REST.

Connection (conn_type ``autotask``, default conn id ``autotask_default``; the connection form's fields are
declared in ``hooks/forms.py``):

- ``host``: the zone-neutral base URL, scheme included: ``https://webservices.autotask.net`` in
  production (the client discovers the tenant's zone from it), ``http://127.0.0.1:8700/autotask``
  for the sandbox.
- ``login``: the API user's user name; ``password``: its secret.
- ``extra`` (JSON):
  - ``integration_code`` (required): the API tracking identifier (``ApiIntegrationCode`` header);
  - ``impersonation_resource_id`` (optional): resource id to act as on writes;
  - ``threshold_share`` (optional, default 0.5): the share of the tenant's hourly request threshold
    channelsync may use before its budget guard stops (a breach blocks every integration);
  - ``thread_limit`` (optional, default 3): concurrent calls per entity.

With a state store (``state_url``, set by ``runs/context.py`` when there is one) the thread limit
holds across every task process and worker on the Autotask database (``state/leases.py``);
without one, across the threads of this process only.
"""

from __future__ import annotations

from typing import Any

from channelsync.clients.autotask import AutotaskClient
from channelsync.hooks.base import ChannelsyncHook


class AutotaskHook(ChannelsyncHook):
    default_conn_name = "autotask_default"
    conn_type = "autotask"
    hook_name = "Autotask PSA (channelsync)"
    state_url: str | None = None  # the state store whose leases hold the thread limit across processes

    def make_client(self, connection: Any) -> AutotaskClient:
        return build_autotask_client(
            host=connection.host, login=connection.login, password=connection.password,
            extra=connection.extra_dejson, state_url=self.state_url,
        )


def build_autotask_client(*, host: str | None, login: str | None, password: str | None,
                          extra: dict[str, Any], state_url: str | None = None) -> AutotaskClient:
    """Client from connection fields (kept apart from Airflow so it can be tested without it)."""
    if not host or not login or not password or not extra.get("integration_code"):
        raise ValueError("an Autotask connection needs host, login, password and extra.integration_code")
    base_url = host if "://" in host else f"https://{host}"
    impersonation = extra.get("impersonation_resource_id")
    return AutotaskClient(
        base_url=base_url, username=login, secret=password, integration_code=str(extra["integration_code"]),
        impersonation_resource_id=int(impersonation) if impersonation not in (None, "") else None,
        threshold_share=float(_or_default(extra.get("threshold_share"), 0.5)),
        thread_limit=int(_or_default(extra.get("thread_limit"), 3)), state_url=state_url,
    )


def _or_default(value: Any, default: float) -> Any:
    """An extra field left empty in Airflow's form arrives as None or "": the default applies."""
    return default if value in (None, "") else value
