"""channelsync's Airflow UI plugin: the operations pages (FastAPI app), their templates and styles, and
the listener that notes each run's status on its DAG run. ``plugins/channelsync_plugin.py`` registers
them with Airflow; ``plugins/.airflowignore`` keeps Airflow from importing these modules as plugins
of their own (it imports every ``.py`` file of the plugins folder under its bare file name)."""
