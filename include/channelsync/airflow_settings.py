"""Load ``airflow_settings.yaml`` (connections, pools, variables) into Airflow's metadata database.

Connection types are written as Airflow's connection form knows them (``channelsync/provider.py``): a
file that still says ``tdsynnex_xml`` / ``tdsynnex_ion`` loads as ``tdsynnex-xml`` / ``tdsynnex-ion``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


def read_settings(path: Path, *, sandbox_url: str) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8").replace("{sandbox_url}", sandbox_url.rstrip("/"))
    data = yaml.safe_load(text) or {}
    return data.get("airflow", {})


def load_into_airflow(path: Path, *, sandbox_url: str) -> dict[str, int]:
    """Create or replace every connection, pool and variable of the file."""
    from airflow.models import Connection, Pool, Variable
    from airflow.utils.session import create_session

    from channelsync.hooks.forms import current_conn_type

    settings = read_settings(path, sandbox_url=sandbox_url)
    connections = settings.get("connections") or []
    with create_session() as session:
        for item in connections:
            session.query(Connection).filter(Connection.conn_id == item["conn_id"]).delete()
            extra = item.get("conn_extra")
            session.add(
                Connection(
                    conn_id=item["conn_id"], conn_type=current_conn_type(item.get("conn_type")),
                    host=item.get("conn_host"),
                    login=item.get("conn_login"), password=item.get("conn_password"),
                    port=item.get("conn_port"), schema=item.get("conn_schema"),
                    extra=json.dumps(extra) if isinstance(extra, dict) else extra,
                )
            )
    for pool in settings.get("pools") or []:
        Pool.create_or_update_pool(
            name=pool["pool_name"], slots=int(pool["pool_slot"]), description=pool.get("pool_description", ""),
            include_deferred=False,
        )
    for variable in settings.get("variables") or []:
        Variable.set(variable["variable_name"], variable["variable_value"])
    return {"connections": len(connections), "pools": len(settings.get("pools") or []),
            "variables": len(settings.get("variables") or [])}
