"""Indexed tables: a filtered query or a reference look-up costs O(matches), not O(table).

At 1,000 customers × 25 contract services a scan of ContractServiceUnits on every query and
adjustment made the emulator, not the engine, the bottleneck. An index here holds, per field, the
keys of the rows by the field's value *as the query language compares it* (``query.coerce`` for an
integer field), so it finds exactly the rows an ``eq`` / ``in`` leaf on that field matches. A row
whose value does not coerce (only a direct control-API edit can store one) makes the index
"loose": look-ups then answer ``None`` and the caller scans, so such a row still answers as a scan
would (including its error). Indexes are built on first use and kept up to date by insert, update
and delete, which is why every change of an indexed field goes through them (``Writer.update``
does); only reference fields (``id`` and ``…ID``) are looked up, which nothing changes in place.
Rows come back in the table's own (insertion) order, the order a scan of ``rows()`` sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from channelsync.sandbox.autotask.query import QueryError, coerce, is_reference
from channelsync.sandbox.store import RecordStore, Table

_LOOSE = object()  # an index key for a value that does not coerce


def _key(value: Any) -> Any:
    try:
        return coerce(value, "integer")
    except QueryError:
        return _LOOSE


class IndexedTable(Table):
    def __init__(self, name: str, *, id_field: str = "id", first_id: int = 1) -> None:
        super().__init__(name, id_field=id_field, first_id=first_id)
        # field → coerced value → row keys (a dict as an ordered set); field → keys of rows that do not coerce
        self._by_value: dict[str, dict[Any, dict[Any, None]]] = {}
        self._loose: dict[str, set[Any]] = {}
        self._position: dict[Any, int] = {}  # row key → insertion number: the order of ``rows()``
        self._inserted = 0

    def insert(self, record: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            row = super().insert(record)
            key = row[self.id_field]
            if key not in self._position:  # a replaced row keeps its place, as in the dict of rows
                self._position[key] = self._inserted
                self._inserted += 1
            return row

    def delete(self, key: Any) -> dict[str, Any] | None:
        with self.lock:
            row = super().delete(key)
            if row is not None:
                self._position.pop(key, None)
            return row

    def matching(self, field: str, values: Iterable[int]) -> list[dict[str, Any]] | None:
        """The rows whose ``field`` coerces to one of ``values``, in table order; ``None`` when some row's
        value does not coerce (scan instead)."""
        with self.lock:
            index = self._by_value.get(field)
            if index is None:
                index, loose = {}, set()
                for key, row in self._rows.items():
                    value = _key(row.get(field))
                    if value is _LOOSE:
                        loose.add(key)
                    else:
                        index.setdefault(value, {})[key] = None
                self._by_value[field], self._loose[field] = index, loose
            if self._loose[field]:
                return None
            keys: set[Any] = set()
            for value in values:
                keys.update(index.get(value, ()))
            return [self._rows[key] for key in sorted(keys, key=self._position.__getitem__)]

    def where(self, field: str, value: Any) -> list[dict[str, Any]]:
        """Rows whose ``field`` equals ``value`` (``==``), in table order: what a scan of ``rows()`` finds."""
        found = self.matching(field, (value,)) if isinstance(value, int) and not isinstance(value, bool) else None
        if found is None:
            return [row for row in self.rows() if row.get(field) == value]
        # The index gives the rows that coerce to ``value``, a superset of those equal to it.
        return [row for row in found if row.get(field) == value]

    def _index(self, key: Any, row: dict[str, Any]) -> None:
        super()._index(key, row)
        for field, index in self._by_value.items():
            value = _key(row.get(field))
            if value is _LOOSE:
                self._loose[field].add(key)
            else:
                index.setdefault(value, {})[key] = None

    def _unindex(self, key: Any, row: dict[str, Any]) -> None:
        super()._unindex(key, row)
        for field, index in self._by_value.items():
            value = _key(row.get(field))
            if value is _LOOSE:
                self._loose[field].discard(key)
            else:
                bucket = index.get(value)
                if bucket is not None:
                    bucket.pop(key, None)
                    if not bucket:
                        del index[value]


def where(table: Table, field: str, value: Any) -> list[dict[str, Any]]:
    """``[row for row in table.rows() if row.get(field) == value]``, through the index when there is one."""
    if isinstance(table, IndexedTable) and is_reference(field):
        return table.where(field, value)
    return [row for row in table.rows() if row.get(field) == value]


class IndexedStore(RecordStore):
    def table(self, name: str, *, id_field: str = "id", first_id: int = 1) -> IndexedTable:
        key = name.lower()
        with self._lock:
            if key not in self._tables:
                self._tables[key] = IndexedTable(name, id_field=id_field, first_id=first_id)
            table = self._tables[key]
            assert isinstance(table, IndexedTable)
            return table
