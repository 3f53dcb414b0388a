"""Pure planning functions (DESIGN.md "reconcile"): canonical tables in, a plan out. No I/O, no Airflow,
no Great Expectations; pandas, numpy, pyarrow compute and hashlib only."""
