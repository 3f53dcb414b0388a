"""Pure planning functions (DESIGN.md "reconcile"): canonical tables in, a plan out. No I/O, no Airflow,
no Great Expectations; pandas, numpy, pyarrow compute and hashlib only."""

import os

import pyarrow as pa

# Arrow's default allocator (mimalloc) is slow to first-touch large allocations on the VMs measured
# here: the first 1,000,000-row plan in a process took 3.2-4.1 s with it and 1.8 s with the system
# allocator, whose peak RSS was also lower (1.35 GB vs 1.41 GB). Planning runs once per task process,
# so the first call is the one that counts. An explicit ARROW_DEFAULT_MEMORY_POOL is respected.
if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
    pa.set_memory_pool(pa.system_memory_pool())
