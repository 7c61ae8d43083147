"""Open Inference Protocol v2 inference requests to model inputs.

A numeric model's valid tensors take a typed path, as `/predict` records do: msgspec decodes the
body straight into typed tensors whose `data` is a flat list of floats (or rows of them), numbers
only (a string, boolean or null is refused rather than converted); struct packs them into a float64
matrix in C and the whole batch is checked at once. Whatever that path does not take (a problem, a
null for a nullable feature, a model with string or boolean features) is parsed again by orjson:
the tensors' names, datatypes and shapes are checked here, and their values go through the same
record-by-record checks as `/predict`, so a problem names its row as `record` and its feature as
`field` in the same words.
"""

from __future__ import annotations

import itertools
import math
import struct
from dataclasses import dataclass
from itertools import starmap
from typing import Annotated, Any, Literal, get_args

import msgspec
import numpy as np

from lockship.core.data.schema import ColumnRule
from lockship.serving.inputs import Decoder, Inputs
from lockship.serving.problems import MAX_PROBLEMS, Problem, RequestError, show

NumericType = Literal["FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8"]
NUMERIC_TYPES: set[str] = set(get_args(NumericType))
PREDICT_OUTPUT = "predict"
PROBA_OUTPUT = "predict_proba"
OUTPUTS = (PREDICT_OUTPUT, PROBA_OUTPUT)
# The v2 datatype a feature's values travel as: BYTES tensors carry JSON strings.
DATATYPES = {"float64": "FP64", "int64": "INT64", "bool": "BOOL", "str": "BYTES"}


def feature_datatype(rule: ColumnRule) -> str:
    return DATATYPES[rule.dtype]


def accepted_datatypes(rule: ColumnRule) -> set[str]:
    """A numeric feature takes any numeric tensor (values are checked against the schema, not the datatype)."""
    return NUMERIC_TYPES if rule.dtype in ("int64", "float64") else {DATATYPES[rule.dtype]}


@dataclass(frozen=True)
class InferRequest:
    inputs: Inputs
    id: str | None
    outputs: list[str]  # by name, in the order asked for; all of them when the request names none


# The typed path's shapes. Only the fields the protocol defines, each as it defines it: anything else
# goes to the checked path, which ignores unknown keys and names what is wrong.
Parameters = dict[str, str | int | float | bool]
Shape = list[Annotated[int, msgspec.Meta(ge=0)]]


class _Output(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    name: str
    parameters: Parameters | msgspec.UnsetType = msgspec.UNSET


class _Tensor(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    name: str
    shape: Shape
    datatype: NumericType
    data: list[float]
    parameters: Parameters | msgspec.UnsetType = msgspec.UNSET


class _RowsTensor(_Tensor, forbid_unknown_fields=True, gc=False):
    data: list[list[float]]  # type: ignore[assignment]


class _Request(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    inputs: list[_Tensor]
    id: str | msgspec.UnsetType = msgspec.UNSET
    model_name: str | msgspec.UnsetType = msgspec.UNSET  # KServe's client sends it
    parameters: Parameters | msgspec.UnsetType = msgspec.UNSET
    outputs: list[_Output] | msgspec.UnsetType = msgspec.UNSET


class _RowsRequest(_Request, forbid_unknown_fields=True, gc=False):
    inputs: list[_RowsTensor]  # type: ignore[assignment]


_TYPED = (msgspec.json.Decoder(_Request), msgspec.json.Decoder(_RowsRequest))


def decode_infer(decoder: Decoder, body: bytes) -> InferRequest:
    """A v2 inference request body to model inputs, or RequestError (400 or 422) naming every problem."""
    request = _typed_request(body) if decoder.numeric else None
    inputs = None if request is None else _typed_inputs(decoder, request.inputs)
    if request is None or inputs is None:
        return _checked_request(decoder, body)
    identifier = None if isinstance(request.id, msgspec.UnsetType) else request.id
    outputs = [] if isinstance(request.outputs, msgspec.UnsetType) else [output.name for output in request.outputs]
    return InferRequest(inputs, identifier, _known_outputs(outputs))


def _typed_request(body: bytes) -> _Request | None:
    for typed in _TYPED:  # flat data first; data nested by row fails it at its first value
        try:
            request: _Request = typed.decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            continue
        return request
    return None


def _typed_inputs(decoder: Decoder, tensors: list[_Tensor]) -> Inputs | None:
    """A numeric model's checked float matrix from typed tensors; None when they are not a well-formed batch."""
    count = len(decoder.names)
    if len(tensors) == 1 and tensors[0].shape[1:] == [count]:
        (tensor,) = tensors
        rows = tensor.shape[0]
        if not rows:
            return None
        if not isinstance(tensor, _RowsTensor):
            packed = _pack(tensor.data, rows * count)
        elif len(tensor.data) == rows:
            # struct packs each row's floats in C, 2-3x faster than numpy reads nested lists; a row of
            # another length is a struct.error.
            try:
                packed = b"".join(starmap(struct.Struct(f"={count}d").pack, tensor.data))
            except struct.error:
                return None
        else:
            return None
        return None if packed is None else decoder.checked(np.frombuffer(packed, np.float64).reshape(rows, count))
    by_name = {tensor.name: tensor for tensor in tensors}
    if len(tensors) != count or sorted(by_name) != sorted(decoder.names):
        return None
    rows = tensors[0].shape[0] if tensors[0].shape else 0
    if not rows or any(not t.shape or t.shape[0] != rows or math.prod(t.shape) != rows for t in tensors):
        return None
    matrix = np.empty((rows, count), dtype=np.float64)
    for column, name in enumerate(decoder.names):
        packed = _pack_column(by_name[name], rows)
        if packed is None:
            return None
        matrix[:, column] = np.frombuffer(packed, np.float64)
    return decoder.checked(matrix)


def _pack_column(tensor: _Tensor, rows: int) -> bytes | None:
    if not isinstance(tensor, _RowsTensor):
        return _pack(tensor.data, rows)
    # [N, 1] nested by row: N rows of one value each (no row longer, so none shorter either).
    if tensor.shape != [rows, 1] or len(tensor.data) != rows or max(map(len, tensor.data)) != 1:
        return None
    return _pack(list(itertools.chain.from_iterable(tensor.data)), rows)


def _pack(values: list[float], count: int) -> bytes | None:
    """`count` floats as raw float64 bytes, or None when there are not `count` of them."""
    return struct.pack(f"={count}d", *values) if len(values) == count else None


def _checked_request(decoder: Decoder, body: bytes) -> InferRequest:
    request, refused = decoder.parse(body)
    if not isinstance(request, dict) or "inputs" not in request:
        decoder.strict(refused)
        raise RequestError(422, Problem("expected a JSON object with 'inputs', a list of tensors"))
    identifier = request.get("id")
    if "id" in request and not isinstance(identifier, str):
        raise RequestError(422, Problem("'id' must be a string"))
    if "parameters" in request and not isinstance(request["parameters"], dict):
        raise RequestError(422, Problem("'parameters' must be an object"))
    outputs = _requested_outputs(request["outputs"]) if "outputs" in request else []
    inputs = _checked_inputs(decoder, request["inputs"], refused)
    decoder.strict(refused)  # e.g. an 'id' holding a lone surrogate, which no JSON answer can echo
    return InferRequest(inputs, identifier, _known_outputs(outputs))


def _requested_outputs(outputs: Any) -> list[str]:
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise RequestError(422, Problem("'outputs' must be a list of objects, each with a 'name'"))
    return [output["name"] for output in outputs]


def _known_outputs(names: list[str]) -> list[str]:
    """The outputs asked for, or RequestError (422) naming those the model does not give."""
    unknown = [name for name in names if name not in OUTPUTS][:MAX_PROBLEMS]
    if unknown:
        known = " and ".join(f"'{name}'" for name in OUTPUTS)
        raise RequestError(
            422, *(Problem(f"no output named {show(name)}; this model gives {known}") for name in unknown)
        )
    return list(dict.fromkeys(names)) or list(OUTPUTS)  # each once: a long list must not multiply the answer


def _checked_inputs(decoder: Decoder, tensors: Any, refused: str | None) -> Inputs:
    """One [N, features] tensor in training order, or one [N] tensor per feature by name."""
    if not isinstance(tensors, list) or not tensors or not all(isinstance(t, dict) for t in tensors):
        raise RequestError(422, Problem("'inputs' must be a non-empty list of tensors"))
    count = len(decoder.names)
    kinds = sorted({rule.dtype for rule in decoder.rules} - {"int64", "float64"})
    per_feature = "one [N] tensor per feature" + (" (BYTES for strings, BOOL for booleans)" if kinds else "")
    if len(tensors) == 1 and tensor_shape(tensors[0])[1:] == [count]:
        if kinds:
            cannot = f"this model has {' and '.join(kinds)} features, which one numeric tensor cannot hold"
            raise RequestError(422, Problem(f"tensor '{tensor_name(tensors[0])}': {cannot}; send {per_feature}"))
        values = tensor_values(tensors[0], count, NUMERIC_TYPES, hint="FP64")
        rows = [values[start : start + count] for start in range(0, len(values), count)]
        return _records_inputs(decoder, [dict(zip(decoder.names, row, strict=True)) for row in rows], refused)
    by_name: dict[str, dict[str, Any]] = {}
    for tensor in tensors:
        if by_name.setdefault(tensor_name(tensor), tensor) is not tensor:
            raise RequestError(422, Problem(f"tensor '{tensor_name(tensor)}' is sent twice"))
    missing = [name for name in decoder.names if name not in by_name]
    unknown = sorted(set(by_name) - set(decoder.names))
    if missing or unknown:
        raise RequestError(
            422,
            *(Problem("missing input tensor", field=name) for name in missing[:MAX_PROBLEMS]),
            *(Problem("not a feature of the model", field=name) for name in unknown[:MAX_PROBLEMS]),
            Problem(f"send {per_feature}" if kinds else f"send one tensor of shape [N, {count}] or {per_feature}"),
        )
    columns = [
        tensor_values(by_name[rule.name], 1, accepted_datatypes(rule), hint=feature_datatype(rule))
        for rule in decoder.rules
    ]
    if len({len(column) for column in columns}) != 1:
        raise RequestError(422, Problem("per-feature tensors have different lengths"))
    records = [dict(zip(decoder.names, row, strict=True)) for row in zip(*columns, strict=True)]
    return _records_inputs(decoder, records, refused)


def _records_inputs(decoder: Decoder, records: list[dict[str, Any]], refused: str | None) -> Inputs:
    """Values checked as `/predict` checks records: a problem names its row as `record`, its feature as `field`."""
    try:
        return decoder._slow(records)
    except UnicodeEncodeError:
        # A lone surrogate in a string passes the checks (only Python's parser reads it), but pandas
        # cannot hold it: the answer is the strict parser's 400, not a 500.
        decoder.strict(refused)
        raise


def tensor_shape(tensor: dict[str, Any]) -> list[int]:
    """A tensor's declared shape, or [] when it is not a list of non-negative integers."""
    shape = tensor.get("shape")
    ok = isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    return list(shape) if ok and isinstance(shape, list) else []


def tensor_name(tensor: dict[str, Any]) -> str:
    """A tensor's name, or RequestError (422) when it is not a string."""
    name = tensor.get("name")
    if not isinstance(name, str):
        raise RequestError(422, Problem(f"a tensor's 'name' must be a string, got {show(name)}"))
    return name


def tensor_values(tensor: dict[str, Any], columns: int, datatypes: set[str], *, hint: str) -> list[Any]:
    """The values of an [N, columns] (or, for one column, [N]) tensor in row-major order, or RequestError (422).

    Only the tensor's form is checked here (datatype, shape, nesting, count); the values are
    checked against the schema as `/predict` checks records.
    """
    name = tensor_name(tensor)
    shape = tensor_shape(tensor)
    datatype = tensor.get("datatype")
    if not isinstance(datatype, str) or datatype not in datatypes:
        kind = "is not numeric" if datatypes == NUMERIC_TYPES else "does not fit the feature"
        raise RequestError(422, Problem(f"tensor '{name}': datatype {show(datatype)} {kind} (use {hint})"))
    if not shape or shape[0] == 0 or math.prod(shape) != shape[0] * columns:
        shown = _shown(shape) if shape else show(tensor.get("shape"))
        wanted = f"[N, {columns}] or [N]" if columns > 1 else "[N] or [N, 1]"
        raise RequestError(422, Problem(f"tensor '{name}': shape {shown} is not {wanted}"))
    if "parameters" in tensor and not isinstance(tensor["parameters"], dict):
        raise RequestError(422, Problem(f"tensor '{name}': 'parameters' must be an object"))
    flat = _flatten(tensor.get("data"), shape)
    if flat is None:
        raise RequestError(
            422, Problem(f"tensor '{name}': 'data' must be a flat list or lists nested as {_shown(shape)}")
        )
    if len(flat) != math.prod(shape):
        raise RequestError(422, Problem(f"tensor '{name}': {len(flat)} values do not fill shape {_shown(shape)}"))
    return flat


def _shown(shape: list[int]) -> str:
    """A shape as a message shows it, bounded whatever was sent."""
    return str(shape) if len(shape) <= 8 else f"of {len(shape)} dimensions"


def _flatten(data: Any, shape: list[int]) -> list[Any] | None:
    """The values of `data` in row-major order: a flat list, or lists nested along the shape's leading dimensions.

    Each level is all lists, each as long as its dimension, or all values; else None. One level at a
    time, not by recursion: a body may nest a thousand levels deep, and each node is visited once.
    """
    if not isinstance(data, list):
        return None
    level = data
    for depth in range(len(shape)):
        if not any(isinstance(item, list) for item in level):
            return level
        if depth == 0 and len(level) != shape[0]:
            return None
        inner = shape[depth + 1] if depth + 1 < len(shape) else None
        if inner is None or not all(isinstance(item, list) and len(item) == inner for item in level):
            return None
        level = list(itertools.chain.from_iterable(level))
    return None
