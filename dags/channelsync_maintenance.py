"""channelsync housekeeping (an Airflow DAG): staged files and run-scoped ledger rows past their retention."""

from channelsync.templates.maintenance import build_maintenance_dag

dag = build_maintenance_dag()
