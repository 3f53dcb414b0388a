"""String keys for every table: TD SYNNEX ids are digit strings on the wire (SKUs, Ion int64 ids, PO
numbers), while the control API turns digit path segments into ints. Normalising keys to ``str``
lets ``/_sandbox/records/tdsynnex/products/5000026`` find SKU ``"5000026"``."""

from __future__ import annotations

from typing import Any

from channelsync.sandbox.store import RecordStore, Table


class StrKeyTable(Table):
    def insert(self, record: dict[str, Any]) -> dict[str, Any]:
        if record.get(self.id_field) is None:
            record[self.id_field] = str(self.next_id())
        record[self.id_field] = str(record[self.id_field])
        return super().insert(record)

    def get(self, key: Any) -> dict[str, Any] | None:
        return super().get(str(key))

    def update(self, key: Any, changes: dict[str, Any]) -> dict[str, Any] | None:
        return super().update(str(key), changes)

    def delete(self, key: Any) -> dict[str, Any] | None:
        return super().delete(str(key))

    def snapshot(self, key: Any) -> dict[str, Any] | None:
        return super().snapshot(str(key))


class StrKeyStore(RecordStore):
    def table(self, name: str, *, id_field: str = "id", first_id: int = 1) -> Table:
        key = name.lower()
        with self._lock:
            if key not in self._tables:
                self._tables[key] = StrKeyTable(name, id_field=id_field, first_id=first_id)
            return self._tables[key]
