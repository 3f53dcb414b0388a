"""channelsync: one Airflow DAG per (integration, template) from the integrations file.

The file is ``$CHANNELSYNC_CONFIG`` or ``config/integrations.yaml``. Each DAG runs
extract → validate → reconcile → load → report; trigger it with ``{"preview": true}`` for a dry run.
"""

from channelsync.dagfactory import build_dags

globals().update(build_dags())
