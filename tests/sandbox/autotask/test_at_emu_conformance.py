"""Every response shape the tests exercise validates against the Autotask swagger's own definitions.

The swagger has no ``nullable`` flags while the real API returns ``null`` for unset fields, so every
property is made nullable; ``additionalProperties: false`` is added so that a field the swagger does
not know fails the test (a stricter check than the spec itself).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import jsonschema
import pytest

from channelsync.sandbox.autotask.metadata import CHILDREN, ROOT_OPS
from channelsync.sandbox.autotask.models import MODELS
from tests.specs import SPECS

SPEC = SPECS / "autotask-rest-v1.swagger.json"
pytestmark = pytest.mark.skipif(not SPEC.exists(), reason="the vendor spec is not available")


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC.read_text())


def strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if "$ref" in out:
            return {"anyOf": [{"$ref": out["$ref"]}, {"type": "null"}]}
        if out.get("type") in ("integer", "number", "string", "boolean", "array"):
            out["type"] = [out["type"], "null"]
        if out.get("type") == "object" and out.get("properties"):
            out["additionalProperties"] = False
            out["type"] = ["object", "null"]
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


@cache
def validator(definition: str) -> jsonschema.Draft4Validator:
    """Only the definitions reachable from ``definition`` (resolving all 764 each time is slow)."""
    every = spec()["definitions"]
    definitions: dict[str, Any] = {}
    pending = [definition]
    while pending:
        name = pending.pop()
        if name in definitions:
            continue
        definitions[name] = strict(copy.deepcopy(every[name]))
        pending.extend(ref.split("/")[-1] for ref in _refs(every[name]))
    # "Object" (itemId, isSupportedWebhookField) and RestUserAccessLevel (an enum) are empty objects in
    # the export, a generator artefact: the real API sends scalars there, so any JSON value is accepted.
    definitions["Object"] = definitions["RestUserAccessLevel"] = {}
    return jsonschema.Draft4Validator({"$ref": f"#/definitions/{definition}", "definitions": definitions})


def _refs(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        found = [schema["$ref"]] if "$ref" in schema else []
        return found + [r for v in schema.values() for r in _refs(v)]
    if isinstance(schema, list):
        return [r for v in schema for r in _refs(v)]
    return []


def validate(instance: Any, definition: str) -> None:
    validator(definition).validate(instance)


def query_wrapper(entity: str) -> str:
    return spec()["paths"][f"/V1.0/{entity}/query"]["post"]["responses"]["200"]["schema"]["$ref"].split("/")[-1]


def item_wrapper(entity: str) -> str:
    return spec()["paths"][f"/V1.0/{entity}/{{id}}"]["get"]["responses"]["200"]["schema"]["$ref"].split("/")[-1]


def test_generated_models_match_the_spec() -> None:
    for entity, (model, _singular, has_udfs, fields) in MODELS.items():
        properties = spec()["definitions"][model]["properties"]
        assert set(fields) <= set(properties), entity
        assert has_udfs == ("userDefinedFields" in properties)


def test_root_operations_match_the_spec() -> None:
    paths = {p.lower(): {m.upper() for m in ops} for p, ops in spec()["paths"].items()}
    for entity, ops in ROOT_OPS.items():
        root = paths.get(f"/v1.0/{entity.lower()}", set())
        assert ("query" in ops) == (f"/v1.0/{entity.lower()}/query" in paths), entity
        assert ("create" in ops) == ("POST" in root), entity
        assert ("update" in ops) == ("PATCH" in root), entity
        assert ("delete" in ops) == ("DELETE" in paths.get(f"/v1.0/{entity.lower()}/{{id}}", set())), entity
    for (parent, segment), child in CHILDREN.items():
        collection = paths[f"/v1.0/{parent.lower()}/{{parentid}}/{segment.lower()}"]
        assert ("create" in child.ops) == ("POST" in collection) and ("list" in child.ops) == ("GET" in collection)


@pytest.mark.parametrize("entity", [e for e, ops in ROOT_OPS.items() if "query" in ops])
def test_query_and_item_responses_validate(at: Any, entity: str) -> None:
    page = at.ok("POST", f"{entity}/query", json={"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 3})
    validate(page, query_wrapper(entity))
    if page["items"]:
        validate(at.ok("GET", f"{entity}/{page['items'][0]['id']}"), item_wrapper(entity))
    validate(at.ok("POST", f"{entity}/query/count", json={"filter": []}), "QueryCountResultModel")
    validate(at.ok("GET", f"{entity}/entityInformation"), "EntityInformationResultModel")
    validate(at.ok("GET", f"{entity}/entityInformation/fields"), "FieldInformationResultModel")
    validate(at.ok("GET", f"{entity}/entityInformation/userDefinedFields"), "UserDefinedFieldInformationResultModel")


def test_paged_include_fields_and_child_responses_validate(at: Any) -> None:
    body = {"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 2, "IncludeFields": ["name"]}
    first = at.ok("POST", "Products/query", json=body)
    validate(first, "QueryActionResult[ProductModel,Product]")
    validate(at.ok("POST", first["pageDetails"]["nextPageUrl"], json=body), "QueryActionResult[ProductModel,Product]")
    validate(at.ok("GET", "Products/1/Vendors"), "QueryActionResult[ProductVendorModel,ProductVendor]")
    units = at.ok("GET", "Contracts/1/ServiceUnits")
    validate(units, "QueryActionResult[ContractServiceUnitModel,ContractServiceUnit]")
    validate(at.ok("GET", "Contracts/1/Services"), "QueryActionResult[ContractServiceModel,ContractService]")


def test_writes_and_service_responses_validate(at: Any) -> None:
    created = at.ok("POST", "Products", json={"name": "Conformance", "isActive": True, "isSerialized": False})
    validate(created, "OperationResultModel")
    validate(at.ok("PATCH", "Products", json={"id": created["itemId"], "sku": "X"}), "OperationResultModel")
    validate(at.ok("GET", "ThresholdInformation"), "ThresholdStatusResultModel")
    validate(at.ok("GET", "Version"), "AutotaskVersionResultModel")
    zone = at.call("GET", f"{at.root}/atservicesrest/v1.0/zoneInformation?user=api.demo@channelsync.example").json()
    validate(zone, "ZoneInformationResultModel")
    validate(at.call("GET", f"{at.root}/atservicesrest/versioninformation").json(), "ApiVersionResultModel")
