"""Thread-safe in-memory tables of records in their wire shape, with auto-increment ids."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from typing import Any


class Table:
    def __init__(self, name: str, *, id_field: str = "id", first_id: int = 1) -> None:
        self.name = name
        self.id_field = id_field
        self._rows: dict[Any, dict[str, Any]] = {}
        self._next_id = first_id
        self.lock = threading.RLock()
        # field → value → keys; built on first find_by(field) and kept up to date by insert/update/delete
        # (a field changed by mutating a row in place is not seen: change indexed fields through update()).
        self._indexes: dict[str, dict[Any, set[Any]]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def next_id(self) -> int:
        with self.lock:
            value = self._next_id
            self._next_id += 1
            return value

    def insert(self, record: dict[str, Any]) -> dict[str, Any]:
        """Insert a record; assigns an integer id when the record has none."""
        with self.lock:
            key = record.get(self.id_field)
            if key is None:
                key = self.next_id()
                record[self.id_field] = key
            elif isinstance(key, int) and key >= self._next_id:
                self._next_id = key + 1
            if key in self._rows:
                self._unindex(key, self._rows[key])
            self._rows[key] = record
            self._index(key, record)
            return record

    def get(self, key: Any) -> dict[str, Any] | None:
        return self._rows.get(key)

    def update(self, key: Any, changes: dict[str, Any]) -> dict[str, Any] | None:
        with self.lock:
            row = self._rows.get(key)
            if row is not None:
                self._unindex(key, row)
                row.update(changes)
                self._index(key, row)
            return row

    def delete(self, key: Any) -> dict[str, Any] | None:
        with self.lock:
            row = self._rows.pop(key, None)
            if row is not None:
                self._unindex(key, row)
            return row

    def rows(self) -> list[dict[str, Any]]:
        """A snapshot list (safe to iterate while other threads write)."""
        with self.lock:
            return list(self._rows.values())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows())

    def find_by(self, field: str, value: Any) -> list[dict[str, Any]]:
        """Rows whose ``field`` equals ``value``, through an index (a scan costs O(rows) per call)."""
        with self.lock:
            if field not in self._indexes:
                index: dict[Any, set[Any]] = {}
                for key, row in self._rows.items():
                    index.setdefault(row.get(field), set()).add(key)
                self._indexes[field] = index
            return [self._rows[key] for key in self._indexes[field].get(value, ())]

    def _index(self, key: Any, row: dict[str, Any]) -> None:
        for field, index in self._indexes.items():
            index.setdefault(row.get(field), set()).add(key)

    def _unindex(self, key: Any, row: dict[str, Any]) -> None:
        for field, index in self._indexes.items():
            index.get(row.get(field), set()).discard(key)

    def find(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        return [row for row in self.rows() if predicate(row)]

    def snapshot(self, key: Any) -> dict[str, Any] | None:
        row = self._rows.get(key)
        return copy.deepcopy(row) if row is not None else None


class RecordStore:
    """Named tables of one emulator."""

    def __init__(self) -> None:
        self._tables: dict[str, Table] = {}
        self._lock = threading.Lock()

    def table(self, name: str, *, id_field: str = "id", first_id: int = 1) -> Table:
        key = name.lower()
        with self._lock:
            if key not in self._tables:
                self._tables[key] = Table(name, id_field=id_field, first_id=first_id)
            return self._tables[key]

    def has(self, name: str) -> bool:
        return name.lower() in self._tables

    def names(self) -> list[str]:
        return sorted(t.name for t in self._tables.values())

    def clear(self) -> None:
        with self._lock:
            self._tables.clear()
