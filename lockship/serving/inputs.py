"""Request bodies to feature matrices, checked against the training schema.

Valid numeric batches take a vectorised path: msgspec decodes the body straight into typed records
(every feature present, nothing else, numbers only: a string such as "1.5", a boolean or a null is
refused rather than converted), numpy builds the matrix from them and checks finiteness and ranges
for the whole batch at once. Anything the typed decoder refuses is parsed again by orjson and
checked record by record, so the answer names the first offending records and fields.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from itertools import starmap
from types import GenericAlias
from typing import Any

import msgspec
import numpy as np
import orjson
from msgspec.structs import astuple

from lockship.core.data.schema import ColumnRule
from lockship.core.model.directory import ModelDir
from lockship.serving.frames import input_frame
from lockship.serving.linear import Matrix, numeric_inputs
from lockship.serving.problems import MAX_PROBLEMS, Problem, RequestError, show


@dataclass(frozen=True)
class Flag:
    """A value served although it is unlike the training data: `reason` is below_min, above_max or unknown_category."""

    record: int
    field: str
    reason: str


@dataclass
class Inputs:
    """A decoded batch: a float matrix in feature order, or (non-numeric models) a DataFrame."""

    rows: int
    matrix: Matrix | None = None
    frame: Any = None
    values: list[list[Any]] = field(default_factory=list)
    flagged: list[Flag] = field(default_factory=list)


class Decoder:
    """Turns `/predict` records and v2 tensors into model inputs for one model directory."""

    def __init__(self, model_dir: ModelDir) -> None:
        self.names = [feature.name for feature in model_dir.features]
        self.schema = model_dir.schema
        rules = [model_dir.schema.column(name) for name in self.names]
        self.rules: list[ColumnRule] = [rule for rule in rules if rule is not None]
        # Categories the fitted encoder ignores are served (and flagged), whatever the schema's `outside` says.
        self.ignores_unknown = {feature.name for feature in model_dir.features if feature.unknown == "ignore"}
        self.numeric = numeric_inputs(model_dir.schema, self.names)
        self.low, self.high = self._bounds("reject")
        self.flag_low, self.flag_high = self._bounds("flag")
        self.flags_ranges = bool(np.isfinite(self.flag_low).any() or np.isfinite(self.flag_high).any())
        self.integer = np.array([rule.dtype == "int64" for rule in self.rules])
        self._typed = typed_decoder(self.names) if self.numeric else None
        self._pack_row = struct.Struct(f"={len(self.names)}d").pack

    def _bounds(self, outside: str) -> tuple[Matrix, Matrix]:
        """Each feature's min and max where its schema says `outside: <outside>`, else unbounded."""
        low = [r.minimum if r.minimum is not None and r.outside == outside else -np.inf for r in self.rules]
        high = [r.maximum if r.maximum is not None and r.outside == outside else np.inf for r in self.rules]
        return np.array(low, dtype=np.float64), np.array(high, dtype=np.float64)

    def parse(self, body: bytes) -> tuple[Any, str | None]:
        """The JSON document, and why the strict parser refused it when only Python's lenient one read it.

        Python's parser reads NaN, Infinity, 1e999 and lone surrogates, so a problem can name its record
        and field; a body only it reads is refused all the same once the checks are done (`strict`).
        """
        try:
            return orjson.loads(body), None
        except orjson.JSONDecodeError as error:
            try:
                return json.loads(body), f"malformed JSON: {error}"
            except (ValueError, RecursionError):
                pass
            raise RequestError(400, Problem(f"malformed JSON: {error}")) from error

    @staticmethod
    def strict(refused: str | None) -> None:
        """400 for a body the checks let through but the strict parser refused."""
        if refused is not None:
            raise RequestError(400, Problem(refused))

    def records(self, body: bytes) -> Inputs:
        """`{"records": [{feature: value, ...}, ...]}` to inputs, or RequestError."""
        if self._typed is not None:
            try:
                typed = self._typed.decode(body).records
            except (msgspec.DecodeError, UnicodeDecodeError):
                pass  # the checks below find and name the problem
            else:
                if typed:
                    # struct packs each record's floats in C: half the time of numpy reading Python floats.
                    packed = b"".join(starmap(self._pack_row, map(astuple, typed)))
                    return self.checked(np.frombuffer(packed, dtype=np.float64).reshape(len(typed), len(self.names)))
        data, refused = self.parse(body)
        if not isinstance(data, dict) or "records" not in data:
            self.strict(refused)
            raise RequestError(422, Problem('expected a JSON object {"records": [{feature: value, ...}, ...]}'))
        unknown = sorted(set(data) - {"records"})
        if unknown:
            raise RequestError(422, Problem(f"unknown top-level key(s): {', '.join(unknown)}; only 'records'"))
        records = data["records"]
        if not isinstance(records, list):
            raise RequestError(422, Problem("'records' must be a list of objects"))
        if not records:
            raise RequestError(422, Problem("empty batch: 'records' needs at least one record"))
        inputs = self._slow(records)
        self.strict(refused)
        return inputs

    def checked(self, matrix: Matrix) -> Inputs:
        """Finiteness, ranges and integrality for a whole matrix at once."""
        finite = np.isfinite(matrix)
        bad = ~finite | (matrix < self.low) | (matrix > self.high)
        if self.integer.any():
            bad |= self.integer & finite & (np.mod(matrix, 1) != 0)
        if bad.any():
            problems = [
                self._value_problem(int(row), self.rules[int(column)], float(matrix[row, column]))
                for row, column in np.argwhere(bad)[:MAX_PROBLEMS]
            ]
            raise RequestError(422, *(p for p in problems if p is not None))
        flagged: list[Flag] = []
        if self.flags_ranges:
            for reason, outside in (("below_min", matrix < self.flag_low), ("above_max", matrix > self.flag_high)):
                flagged += [Flag(int(row), self.names[int(column)], reason) for row, column in np.argwhere(outside)]
            flagged.sort(key=lambda flag: (flag.record, self.names.index(flag.field)))
        return Inputs(rows=len(matrix), matrix=matrix, flagged=flagged)

    def _value_problem(
        self, record: int, rule: ColumnRule, value: Any, flagged: list[Flag] | None = None
    ) -> Problem | None:
        """Why `value` is refused, or None; values served though unlike the training data go to `flagged`."""
        name = rule.name
        if value is None:
            return (
                None if rule.nullable else Problem("null where the schema does not allow a missing value", record, name)
            )
        if rule.dtype in ("int64", "float64"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return Problem(f"expected a number, got {show(value)}", record, name)
            try:
                finite = math.isfinite(value)
            except OverflowError:  # an integer beyond the float range, which only Python's parser reads
                return Problem(f"{show(value)} is not a finite number", record, name)
            if not finite:
                return Problem(f"{value!r} is not a finite number", record, name)
            if rule.minimum is not None and value < rule.minimum:
                if flagged is None or rule.outside != "flag":
                    return Problem(f"{value!r} is below the schema's minimum {rule.minimum}", record, name)
                flagged.append(Flag(record, name, "below_min"))
            if rule.maximum is not None and value > rule.maximum:
                if flagged is None or rule.outside != "flag":
                    return Problem(f"{value!r} is above the schema's maximum {rule.maximum}", record, name)
                flagged.append(Flag(record, name, "above_max"))
            if rule.dtype == "int64" and value % 1 != 0:
                return Problem(f"{value!r} is not an integer", record, name)
        elif rule.dtype == "bool" and not isinstance(value, bool):
            return Problem(f"expected true or false, got {show(value)}", record, name)
        elif rule.dtype == "str" and not isinstance(value, str):
            return Problem(f"expected a string, got {show(value)}", record, name)
        if rule.allowed is not None and value not in rule.allowed:
            numeric = rule.dtype in ("int64", "float64")
            if flagged is None or not (name in self.ignores_unknown or (numeric and rule.outside == "flag")):
                return Problem(f"{show(value)} is not one of the allowed values", record, name)
            flagged.append(Flag(record, name, "unknown_category"))
        return None

    def _slow(self, records: list[Any]) -> Inputs:
        problems: list[Problem] = []
        flagged: list[Flag] = []
        known = set(self.names)
        # A nullable feature may be left out of a record: it is missing, as a null would say.
        required = [rule.name for rule in self.rules if not rule.nullable]
        for index, record in enumerate(records):
            if len(problems) >= MAX_PROBLEMS:
                break
            if not isinstance(record, dict):
                problems.append(Problem(f"expected an object of feature values, got {show(record)}", index))
                continue
            problems += [Problem("missing", index, name) for name in required if name not in record]
            problems += [Problem("not a feature of the model", index, str(key)) for key in record if key not in known]
            for rule in self.rules:
                found = self._value_problem(index, rule, record[rule.name], flagged) if rule.name in record else None
                if found is not None:
                    problems.append(found)
        if problems:
            raise RequestError(422, *problems[:MAX_PROBLEMS])
        values = [[record.get(name) for name in self.names] for record in records]
        if self.numeric:
            matrix = np.array([[math.nan if v is None else v for v in row] for row in values], dtype=np.float64)
            return Inputs(rows=len(records), matrix=matrix, flagged=flagged)
        frame = input_frame(values, self.names, self.schema)
        return Inputs(rows=len(records), frame=frame, values=values, flagged=flagged)


def typed_decoder(names: list[str]) -> msgspec.json.Decoder[Any]:
    """A JSON decoder to `{"records": [record, ...]}` whose records hold exactly `names`, each a number.

    Feature names need not be identifiers, so the record's fields are positional and renamed to them.
    msgspec converts an integer to a float the way Python does; a duplicated key keeps its last value, as in orjson.
    """
    fields = [f"f{index}" for index in range(len(names))]
    record = msgspec.defstruct(
        "Record",
        [(field_name, float) for field_name in fields],
        rename=dict(zip(fields, names, strict=True)),
        forbid_unknown_fields=True,
        gc=False,
    )
    batch = msgspec.defstruct("Batch", [("records", GenericAlias(list, (record,)))], forbid_unknown_fields=True)
    return msgspec.json.Decoder(batch)
