"""What the operations pages show, computed from the run records every template writes.

Pure query and presentation logic, importable without Airflow's API server: the Airflow plugin
(``plugins/channelsync_ui``) serves it, behind Airflow's own authentication and permissions, and the
CLI may read the same functions. Nothing here knows a template by name: cards, history and item pages
follow the template registry, the outcome registry and the error catalog.
"""
