"""channelsync in Airflow's UI: the operations pages and the DAG-run notes.

- ``fastapi_apps``: the pages, served by Airflow's API server under ``/channelsync`` behind Airflow's
  own sign-in and permissions (``channelsync_ui/security.py``); imported on the first request
  (``channelsync_ui/lazy_app.py``): the other processes that load plugins never serve them.
- ``external_views``: Dashboard and Error catalog in Airflow's navigation (embedded, so deep links
  work: ``/plugin/channelsync/channelsync/runs/<id>``), a "Sync history" tab on each DAG and a
  "Sync status" tab on each DAG run.
- ``listeners``: each finished channelsync DAG run gets a note with its sync status.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from channelsync_ui import run_notes
from channelsync_ui.lazy_app import LazyApp

from channelsync.ui.links import NAV_ROUTE

PREFIX = "/channelsync"
ICON = f"{PREFIX}/static/icon.svg"


class ChannelsyncPlugin(AirflowPlugin):
    name = "channelsync"
    fastapi_apps = [{"app": LazyApp("channelsync_ui.app:app"), "url_prefix": PREFIX, "name": "channelsync operations"}]
    external_views = [
        # On the toolbar itself (no category: a category puts it in that menu).
        {"name": "channelsync", "href": f"{PREFIX}/", "url_route": NAV_ROUTE, "destination": "nav",
         "icon": ICON, "nav_top_level": True},
        {"name": "channelsync errors", "href": f"{PREFIX}/errors", "url_route": "channelsync-errors",
         "destination": "nav", "category": "browse", "icon": ICON},
        {"name": "Sync history", "href": f"{PREFIX}/history/{{DAG_ID}}", "url_route": "channelsync-history",
         "destination": "dag", "icon": ICON},
        {"name": "Sync status", "href": f"{PREFIX}/dag-runs/{{DAG_ID}}/{{RUN_ID}}", "url_route": "channelsync-run",
         "destination": "dag_run", "icon": ICON},
    ]
    listeners = [run_notes]
