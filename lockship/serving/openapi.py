"""The per-model request body schemas in the OpenAPI document (the routes read raw bytes, so FastAPI cannot)."""

from __future__ import annotations

from typing import Any

from lockship.core.data.schema import ColumnRule
from lockship.core.model.directory import ModelDir
from lockship.serving.linear import numeric_inputs
from lockship.serving.tensors import NUMERIC_TYPES, OUTPUTS, accepted_datatypes, feature_datatype

_JSON_TYPES = {"int64": "integer", "float64": "number", "bool": "boolean", "str": "string"}
INFER_DESCRIPTION = (
    "The schema shows one record, because JSON Schema cannot tie the length of `data` to `shape`: for a model "
    "whose features are all numbers, as a [1, F] tensor; for any other, as one [1] tensor per feature, named "
    "after it (BYTES with JSON strings for string features, BOOL for booleans). The server also takes N records: "
    "one [N] (or [N, 1]) tensor per feature in any order, or for an all-numeric model one [N, F] tensor in "
    "training order; `data` is flat in row-major order or nested by row."
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


def _row_tensor_schema(model_dir: ModelDir) -> dict[str, Any]:
    """One record as a [1, F] tensor: exactly what the server accepts, which a general [N, F] schema cannot say."""
    values = [_value_schema(model_dir, f.name, nullable=True) for f in model_dir.features]
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


def _feature_tensor_schema(model_dir: ModelDir, rule: ColumnRule) -> dict[str, Any]:
    """One record's value of one feature as a [1] tensor named after it (BYTES for strings, BOOL for booleans)."""
    return {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": {"type": "string", "enum": [rule.name]},
            "shape": {"type": "array", "prefixItems": [{"const": 1}], "minItems": 1, "maxItems": 1},
            "datatype": {"type": "string", "enum": sorted(accepted_datatypes(rule))},
            "parameters": {"type": "object"},
            "data": {
                "type": "array",
                "prefixItems": [_value_schema(model_dir, rule.name, nullable=True)],
                "minItems": 1,
                "maxItems": 1,
            },
        },
    }


def _infer_request(model_dir: ModelDir) -> dict[str, Any]:
    """A numeric model's one record as a [1, F] tensor; any other model's as one [1] tensor per feature."""
    names = [feature.name for feature in model_dir.features]
    example = model_dir.package.example
    if numeric_inputs(model_dir.schema, names):
        inputs = {"type": "array", "minItems": 1, "maxItems": 1, "items": _row_tensor_schema(model_dir)}
        tensors = [
            {"name": "input-0", "shape": [1, len(names)], "datatype": "FP64", "data": [example[n] for n in names]}
        ]
    else:
        rules = [rule for rule in (model_dir.schema.column(name) for name in names) if rule is not None]
        schemas = [_feature_tensor_schema(model_dir, rule) for rule in rules]
        inputs = {"type": "array", "prefixItems": schemas, "minItems": len(schemas), "maxItems": len(schemas)}
        tensors = [
            {"name": rule.name, "shape": [1], "datatype": feature_datatype(rule), "data": [example[rule.name]]}
            for rule in rules
        ]
    return {
        "type": "object",
        "description": INFER_DESCRIPTION,
        "required": ["inputs"],
        "properties": {
            "id": {"type": "string"},
            "parameters": {"type": "object"},
            "inputs": inputs,
            "outputs": {
                "type": "array",
                "description": "The outputs to answer, by name; all of them when absent or empty.",
                "items": {"type": "object", "required": ["name"], "properties": {"name": {"enum": list(OUTPUTS)}}},
            },
        },
        "example": {"inputs": tensors},
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
    schemas["InferRequest"] = _infer_request(model_dir)
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
