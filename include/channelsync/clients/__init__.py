"""One module per external API. Plain Python: no Airflow import, no I/O in constructors."""
