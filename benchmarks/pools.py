"""The demo's Airflow pools as the benchmarks model them: how many mapped load tasks a PSA's pool runs at once.

Shared by ``bench_billing`` and ``bench_orders``: both run a mapped load's task instances as Airflow would
within the pool of ``airflow_settings.yaml`` (what ``make demo`` loads into Airflow)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def psa_pool_slots(psa_system: str, sandbox_url: str) -> int:
    """The slots of the PSA's Airflow pool in ``airflow_settings.yaml``."""
    from channelsync.airflow_settings import read_settings
    from channelsync.templates.dag_builder import psa_pool_name

    pools = read_settings(ROOT / "airflow_settings.yaml", sandbox_url=sandbox_url)["pools"]
    return next(int(pool["pool_slot"]) for pool in pools if pool["pool_name"] == psa_pool_name(psa_system))
