"""The per-model request body schemas in the OpenAPI document (the routes read raw bytes, so FastAPI cannot)."""

from __future__ import annotations

from typing import Any

from lockship.core.model.directory import ModelDir
from lockship.serving.linear import numeric_inputs
from lockship.serving.tensors import NUMERIC_TYPES

_JSON_TYPES = {"int64": "integer", "float64": "number", "bool": "boolean", "str": "string"}
INFER_DESCRIPTION = (
    "The schema shows one record as a [1, F] tensor, because JSON Schema cannot tie the length of `data` "
    "to `shape`. The server also takes N records: one [N, F] tensor (`data` flat in row-major order or "
    "nested by row), or one [N] tensor per feature, named after it."
)


def _value_schema(model_dir: ModelDir, name: str, *, nullable: bool) -> dict[str, Any]:
    rule = model_dir.schema.column(name)
    kind = _JSON_TYPES.get(rule.dtype if rule else "", "number")
    entry: dict[str, Any] = {"type": [kind, "null"] if nullable and rule and rule.nullable else kind}
    # Values outside a flagged range, and categories the encoder ignores, are served: the schema must not refuse them.
    enforced = rule is not None and rule.outside == "reject"
    ignored = any(feature.name == name and feature.unknown == "ignore" for feature in model_dir.features)
    if rule is not None and rule.minimum is not None and enforced:
        entry["minimum"] = rule.minimum
    if rule is not None and rule.maximum is not None and enforced:
        entry["maximum"] = rule.maximum
    if rule is not None and rule.allowed is not None and enforced and not ignored:
        entry["enum"] = list(rule.allowed)
    return entry


def _nullable(model_dir: ModelDir, name: str) -> bool:
    rule = model_dir.schema.column(name)
    return rule is not None and rule.nullable


def record_schema(model_dir: ModelDir) -> dict[str, Any]:
    """JSON Schema of one record: every feature, its type, range and allowed values; nothing else."""
    properties = {f.name: _value_schema(model_dir, f.name, nullable=True) for f in model_dir.features}
    return {
        "type": "object",
        "properties": properties,
        # A nullable feature may be left out.
        "required": [name for name in properties if not _nullable(model_dir, name)],
        "additionalProperties": False,
        "example": dict(model_dir.package.example),
    }


def _tensor_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "datatype": {"type": "string", "example": "FP64"},
            "parameters": {"type": "object"},
            "data": {"type": "array"},
        },
    }


def _row_tensor_schema(model_dir: ModelDir) -> dict[str, Any]:
    """One record as a [1, F] tensor: exactly what the server accepts, which a general [N, F] schema cannot say."""
    values = [_value_schema(model_dir, f.name, nullable=False) for f in model_dir.features]
    count = len(values)
    return {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "prefixItems": [{"const": 1}, {"const": count}], "minItems": 2, "maxItems": 2},
            "datatype": {"type": "string", "enum": sorted(NUMERIC_TYPES)},
            "parameters": {"type": "object"},
            "data": {"type": "array", "prefixItems": values, "minItems": count, "maxItems": count},
        },
    }


def add_request_bodies(document: dict[str, Any], model_dir: ModelDir, model_name: str) -> dict[str, Any]:
    """Put the `/predict` and v2 infer request bodies, and the one model name, into a generated OpenAPI document."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Record"] = record_schema(model_dir)
    schemas["PredictRequest"] = {
        "type": "object",
        "required": ["records"],
        "additionalProperties": False,
        "properties": {"records": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Record"}}},
    }
    names = [feature.name for feature in model_dir.features]
    example_row = [model_dir.package.example[name] for name in names]
    numeric = numeric_inputs(model_dir.schema, names)
    tensors = (
        {"type": "array", "minItems": 1, "maxItems": 1, "items": _row_tensor_schema(model_dir)}
        if numeric
        else {"type": "array", "minItems": 1, "items": _tensor_schema()}
    )
    schemas["InferRequest"] = {
        "type": "object",
        "description": INFER_DESCRIPTION,
        "required": ["inputs"],
        "properties": {"id": {"type": "string"}, "parameters": {"type": "object"}, "inputs": tensors},
        "example": {"inputs": [{"name": "input-0", "shape": [1, len(names)], "datatype": "FP64", "data": example_row}]},
    }
    bodies = {("/predict", "post"): "PredictRequest", ("/v2/models/{name}/infer", "post"): "InferRequest"}
    for (path, method), name in bodies.items():
        operation = document["paths"][path][method]
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("name") == "name":
                    parameter["schema"] = {"type": "string", "enum": [model_name], "title": "Name"}
    return document
