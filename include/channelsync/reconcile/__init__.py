"""Pure planning functions (docs/architecture.md §reconcile): canonical tables in, a plan out. No I/O,
no Airflow, no Great Expectations; pandas, numpy, pyarrow compute and hashlib only.

Whoever builds a large plan calls :func:`channelsync.reconcile.arrow.use_system_memory_pool` first
(importing this package changes nothing)."""
