"""channelsync: an integration engine between IT distributors and PSAs.

The package is importable without Airflow: only ``channelsync.hooks`` and ``channelsync.templates``
touch Airflow, and they import it lazily.
"""

__version__ = "0.1.0"
