"""The test Airflow's auth manager: Airflow's SimpleAuthManager, with DAG scopes per user as a FAB or
Keycloak deployment would grant them. The plugin never sees these rules: it only asks."""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

# username → the DAG id prefixes the user may read or change at all (absent: what the Simple role allows);
# within them, the Simple role decides (viewer: read only; user: edit and trigger).
DAG_SCOPES: dict[str, tuple[str, ...]] = {"outsider": (), "cwonly": ("demo-connectwise__",),
                                          "cweditor": ("demo-connectwise__",)}


class ScopedAuthManager(SimpleAuthManager):
    def is_authorized_dag(self, *, method: Any, user: Any, access_entity: Any = None, details: Any = None) -> bool:
        scope = DAG_SCOPES.get(user.username)
        if scope is not None:
            dag_id = getattr(details, "id", None)
            if not dag_id or not dag_id.startswith(scope):
                return False
        return super().is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details)
