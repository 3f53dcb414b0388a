"""The run shape every template shares: extract → validate → reconcile → load → report.

``steps.py`` is what a template implements; ``runner.py`` is what each Airflow task (or the CLI)
calls; ``recorder.py`` writes the run and its items to the state store.
"""
