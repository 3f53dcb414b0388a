"""A few rows of a staged Parquet file, by key: what a mapped task reads of its run's plan or lines.

A mapped task (one customer, one PO) needs its own rows only. The files are sorted by the key and written in
row groups, so the row groups' min / max statistics say which groups can hold the wanted keys; only those
are decoded, by Arrow, and the other rows dropped before anything becomes Python objects.

Arrow directly, not ``pandas.read_parquet(filters=…)``: that goes through pyarrow's dataset machinery
(discovery, expression compilation) on every call, ~15 ms for one customer's row of a billing plan, which a
customer's task paid twice on its critical path before its first PSA read could start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def read_where(url: str, column: str, values: Sequence[str] | None, *,
               columns: Sequence[str] | None = None) -> pa.Table:
    """The rows whose ``column`` is one of ``values`` (None: every row), with ``columns`` (None: all)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from channelsync.runs.staging import readable

    with readable(url) as source:
        parquet = pq.ParquetFile(source)
        wanted = list(columns) if columns is not None else None
        if values is None:
            return parquet.read(columns=wanted)
        keys = sorted(set(values))
        index = parquet.schema_arrow.get_field_index(column)
        groups = []
        for number in range(parquet.metadata.num_row_groups):
            stats = parquet.metadata.row_group(number).column(index).statistics
            if stats is None or not stats.has_min_max or any(stats.min <= key <= stats.max for key in keys):
                groups.append(number)
        if wanted is not None and column not in wanted:
            wanted.append(column)
        table = parquet.read_row_groups(groups, columns=wanted) if groups else \
            parquet.schema_arrow.empty_table().select(wanted or parquet.schema_arrow.names)
    mask = pc.is_in(table[column], value_set=pa.array(keys, type=table.schema.field(column).type))
    found = table.filter(mask)
    return found.select(list(columns)) if columns is not None else found
