"""POST / PUT / PATCH bodies → validated records (docs/vendors/connectwise.md §B.4, §B.5).

- Unknown body fields and read-only fields are ignored on POST / PUT, as the real server does.
- References are accepted as ``{id}``, ``{name}`` (name references) or ``{identifier}`` (companies,
  catalog items) and stored as reference objects; an unresolvable one is a ``NotFound`` inner error
  on ``<field>/id`` (the shape of the real "Service Status 17 not found" answer).
- Required fields, maximum lengths, enums and unique fields give ``InvalidObject`` with one inner
  error per problem.
- PATCH takes a JSON array of ``{op: add|replace|remove, path, value}``; ``path`` is the bare,
  case-sensitive field name (a leading ``/`` is tolerated). A sub-path such as ``company/identifier``
  is answered 200 without changing anything — the documented "false 200".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channelsync.sandbox.connectwise.errors import CwError, bad_request, field_error, invalid_object
from channelsync.sandbox.connectwise.models import BY_TABLE, ResourceSpec, reference
from channelsync.sandbox.store import RecordStore

# Finds a row of ``table`` whose ``field`` equals ``value`` case-insensitively (indexed by the emulator).
Lookup = Callable[[str, str, str], dict[str, Any] | None]


class Writer:
    def __init__(self, store: RecordStore, lookup: Lookup, base_url: Callable[[], str]) -> None:
        self.store = store
        self.lookup = lookup
        self.base_url = base_url

    def build(self, spec: ResourceSpec, body: Any, *, existing: dict[str, Any] | None = None,
              record_id: int | None = None) -> dict[str, Any]:
        """A full record from a POST (existing None) or PUT body; raises :class:`CwError`."""
        if not isinstance(body, dict):
            raise bad_request(f"The request body must be a {spec.resource} object.", "InvalidObject")
        record: dict[str, Any] = {}
        for key, value in spec.defaults.items():
            record[key] = dict(value) if isinstance(value, dict) else value
        for key, value in body.items():
            if key in spec.fields and key not in spec.read_only and value is not None:
                record[key] = value
        if existing is not None:  # PUT keeps what the server owns
            for key in spec.read_only:
                if key in existing:
                    record[key] = existing[key]
        self.validate(spec, record, record_id)
        return record

    def apply_patch(self, spec: ResourceSpec, existing: dict[str, Any], ops: Any) -> dict[str, Any]:
        if not isinstance(ops, list) or not ops:
            raise bad_request("The request body must be a non-empty array of patch operations.", "InvalidObject")
        record = dict(existing)
        for op in ops:
            if not isinstance(op, dict) or not isinstance(op.get("path"), str):
                raise bad_request("Each patch operation needs op, path and value.", "InvalidObject")
            kind = str(op.get("op", "")).lower()
            path = op["path"].lstrip("/")
            if kind not in ("add", "replace", "remove"):
                raise bad_request(f"The patch operation '{op.get('op')}' is not supported.", "InvalidObject")
            if "/" in path:
                continue  # the documented false 200: sub-paths are accepted and ignored
            if path not in spec.fields:
                raise invalid_object(spec.resource, [field_error(
                    "InvalidField", f"The field {path} does not exist on {spec.resource}.", spec.resource, path)])
            if path in spec.read_only:
                continue
            if kind == "remove" or op.get("value") is None:
                record.pop(path, None)
            else:
                record[path] = op["value"]
        self.validate(spec, record, existing["id"])
        return record

    def validate(self, spec: ResourceSpec, record: dict[str, Any], record_id: int | None) -> None:
        errors: list[dict[str, Any]] = []
        res = spec.resource
        for name in spec.required:
            value = record.get(name)
            if value is None or (isinstance(value, str) and not value.strip()) or value == {}:
                errors.append(field_error("NullField", f"{name} may not be empty.", res, name))
        for name, limit in spec.max_lengths.items():
            value = record.get(name)
            if isinstance(value, str) and len(value) > limit:
                errors.append(field_error(
                    "MaxLengthField", f"The field {name} must be a string with a maximum length of {limit}.",
                    res, name))
        for name, allowed in spec.enums.items():
            value = record.get(name)
            if value is not None and value not in allowed:
                errors.append(field_error(
                    "InvalidValue", f"The value '{value}' is not valid for {name}. Expected one of: "
                    f"{', '.join(allowed)}.", res, name))
        for name, ref in spec.refs.items():
            value = record.get(name)
            if value is None or (value == {} and name in spec.required):
                continue
            resolved = self._resolve(ref.table, ref.shape, value, name)
            if resolved is None:
                shown = value
                if isinstance(value, dict):
                    shown = value.get("id", value.get("identifier", value.get("name")))
                label = BY_TABLE[ref.table].label if ref.table in BY_TABLE else ref.table
                errors.append(field_error("NotFound", f"{label} {shown} not found", res, f"{name}/id"))
            else:
                record[name] = resolved
        for name in spec.unique:
            value = record.get(name)
            if isinstance(value, str):
                found = self.lookup(spec.table, name, value)
                if found is not None and found["id"] != record_id:
                    errors.append(field_error(
                        "ObjectExists", f"The {name} '{value}' is already in use by {spec.resource} {found['id']}.",
                        res, name))
        if spec.table == "companies" and record_id is None and not any(
            record.get(f) for f in ("addressLine1", "addressLine2", "city", "state", "zip", "country")
        ):
            errors.append(field_error("NullField", "At least one address field is required: addressLine1, "
                          "addressLine2, city, state, zip and/or country.", res, "addressLine1"))
        if errors:
            raise invalid_object(res, errors)

    def _resolve(self, table: str, shape: str, value: Any, name: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            return None
        target = self.store.table(table)
        row: dict[str, Any] | None = None
        if value.get("id") is not None:
            try:
                row = target.get(int(value["id"]))
            except (TypeError, ValueError):
                row = None
        elif value.get("identifier") and shape in ("company", "ivitem"):
            row = self.lookup(table, "identifier", str(value["identifier"]))
        elif value.get("name") and shape == "name":
            row = self.lookup(table, "name", str(value["name"]))
        if row is None:
            return None
        return reference(shape, row, BY_TABLE[table], self.base_url(), name)


def require_parent(store: RecordStore, spec: ResourceSpec, parent_id: int) -> dict[str, Any]:
    assert spec.parent_table is not None
    parent = store.table(spec.parent_table).get(parent_id)
    if parent is None:
        label = BY_TABLE[spec.parent_table].label
        raise CwError(404, "NotFound", f"{label} recordId {parent_id} not found.")
    return parent
