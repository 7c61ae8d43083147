"""linear.json checked against model.skops itself, without scikit-learn.

linear.json is what the server predicts with, and package.json records its sha256; but a hash only
says the file was not changed after package.json was written, and package.json can be rewritten too.
So at every start the parameters are read again from the model file, the one whose sha256 `/metadata`
reports: skops keeps a fitted model as a JSON description (schema.json) plus numpy arrays (.npy
members) in a zip, so the imputer's, scaler's and logistic regression's arrays can be read with the
json module and numpy (`allow_pickle=False`) and compared with linear.json number for number. The
server then serves exactly the arithmetic of the model it names, or does not start.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from lockship.core.errors import LockshipError
from lockship.serving.linear import LinearModel

# Far above what a linear model needs (this project's schema.json is about 200 KB): a member that
# claims more is refused before it is inflated.
MAX_MEMBER_BYTES = 64 * 1024 * 1024
PIPELINE = ("sklearn.pipeline", "Pipeline")
COLUMN_TRANSFORMER = ("sklearn.compose._column_transformer", "ColumnTransformer")
IMPUTER = ("sklearn.impute._base", "SimpleImputer")
SCALER = ("sklearn.preprocessing._data", "StandardScaler")
LOGISTIC = ("sklearn.linear_model._logistic", "LogisticRegression")


class _NotLinear(Exception):
    """model.skops does not hold the pipeline linear.json describes (its reason is the message)."""


class _Reader:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    def member(self, name: str) -> bytes:
        info = self.archive.getinfo(name)
        if info.file_size > MAX_MEMBER_BYTES:
            raise _NotLinear(f"member {name} inflates to {info.file_size} bytes")
        return self.archive.read(info)

    def attributes(self, node: Any, kind: tuple[str, str]) -> dict[str, Any]:
        """The attribute nodes of an object node of exactly `kind` (module, class)."""
        if not isinstance(node, dict) or (node.get("__module__"), node.get("__class__")) != kind:
            found = (node.get("__module__"), node.get("__class__")) if isinstance(node, dict) else type(node).__name__
            raise _NotLinear(f"expected {'.'.join(kind)}, found {found}")
        content = node.get("content", {})
        attributes = content.get("content") if isinstance(content, dict) else None
        if not isinstance(attributes, dict):
            raise _NotLinear(f"{'.'.join(kind)} without attributes")
        return attributes

    @staticmethod
    def items(node: Any) -> list[Any]:
        """The items of a list or tuple node."""
        if not isinstance(node, dict) or node.get("__loader__") not in ("ListNode", "TupleNode"):
            raise _NotLinear("expected a list or tuple")
        content = node.get("content")
        if not isinstance(content, list):
            raise _NotLinear("expected a list or tuple")
        return content

    @staticmethod
    def value(node: Any) -> Any:
        """A JSON scalar node's value (skops writes NaN for a float NaN)."""
        text = node.get("content") if isinstance(node, dict) and node.get("__loader__") == "JsonNode" else None
        if not isinstance(text, str):
            raise _NotLinear("expected a plain value")
        return json.loads(text)

    def array(self, attributes: dict[str, Any], name: str) -> np.ndarray[Any, Any] | None:
        """A fitted numpy attribute from its .npy member; None when the attribute is None."""
        node = attributes.get(name)
        if isinstance(node, dict) and node.get("__loader__") == "JsonNode" and node.get("content") == "null":
            return None
        if not isinstance(node, dict) or node.get("__loader__") != "NdArrayNode":
            raise _NotLinear(f"{name} is not a stored numpy array")
        if node.get("type") == "json":  # how skops stores an object array, such as string classes
            items = node.get("content")
            if not isinstance(items, list):
                raise _NotLinear(f"{name} is not a stored numpy array")
            return np.asarray([self.value(item) for item in items])
        if node.get("type") != "numpy":
            raise _NotLinear(f"{name} is not a stored numpy array")
        return np.asarray(np.load(io.BytesIO(self.member(str(node.get("file")))), allow_pickle=False))


def _float(array: np.ndarray[Any, Any] | None, name: str) -> np.ndarray[Any, Any]:
    if array is None or array.dtype.kind not in "fi":
        raise _NotLinear(f"{name} is not numeric")
    return array.astype(np.float64)


def _columns(reader: _Reader, node: Any) -> list[str]:
    columns = [reader.value(item) for item in reader.items(node)]
    if not all(isinstance(column, str) for column in columns):
        raise _NotLinear("columns are not selected by name")
    return columns


def _linear(reader: _Reader, schema: Any, features: Sequence[str]) -> LinearModel:
    """The same reading of the fitted pipeline as `lockship.serving.linear.extract`, from skops' description."""
    steps = reader.items(reader.attributes(schema, PIPELINE).get("steps"))
    if len(steps) != 2:
        raise _NotLinear(f"a pipeline of {len(steps)} steps")
    prep = reader.attributes(reader.items(steps[0])[1], COLUMN_TRANSFORMER)
    estimator = reader.attributes(reader.items(steps[1])[1], LOGISTIC)
    positions: list[int] = []
    fills, means, scales = [], [], []
    for entry in reader.items(prep.get("transformers_")):
        _, transformer, selection = reader.items(entry)
        columns = _columns(reader, selection)
        if not columns or (transformer.get("__loader__") == "JsonNode" and reader.value(transformer) == "drop"):
            continue
        inner = [reader.items(step)[1] for step in reader.items(reader.attributes(transformer, PIPELINE).get("steps"))]
        if len(inner) != 2:
            raise _NotLinear("a column pipeline other than impute then scale")
        imputer, scaler = reader.attributes(inner[0], IMPUTER), reader.attributes(inner[1], SCALER)
        missing = reader.value(imputer.get("missing_values"))
        if reader.value(imputer.get("add_indicator")) is not False or not (
            isinstance(missing, float) and math.isnan(missing)
        ):
            raise _NotLinear("an imputer other than NaN without indicator")
        if any(column not in features for column in columns):
            raise _NotLinear("a column that is not a feature")
        positions += [list(features).index(column) for column in columns]
        fills.append(_float(reader.array(imputer, "statistics_"), "statistics_"))
        mean, scale = reader.array(scaler, "mean_"), reader.array(scaler, "scale_")
        means.append(np.zeros(len(columns)) if mean is None else _float(mean, "mean_"))
        scales.append(np.ones(len(columns)) if scale is None else _float(scale, "scale_"))
    if not positions:
        raise _NotLinear("no scaled columns")
    classes = reader.array(estimator, "classes_")
    if classes is None or classes.dtype.kind not in "iubU":
        raise _NotLinear("classes_ are not plain values")
    return LinearModel(
        classes=tuple(classes.tolist()),
        positions=np.asarray(positions, dtype=np.intp),
        fill=np.concatenate(fills),
        mean=np.concatenate(means),
        scale=np.concatenate(scales),
        coef=_float(reader.array(estimator, "coef_"), "coef_").T.copy(),
        intercept=_float(reader.array(estimator, "intercept_"), "intercept_"),
    )


def read_skops_linear(path: str | os.PathLike[str], features: Sequence[str]) -> LinearModel:
    """The scaled logistic regression's parameters as stored in a skops file; a LockshipError if it holds none."""
    name = os.fspath(path)
    try:
        with zipfile.ZipFile(name) as archive:
            reader = _Reader(archive)
            return _linear(reader, json.loads(reader.member("schema.json")), features)
    except _NotLinear as error:
        raise LockshipError(f"{name}: holds no scaled logistic regression to read a fast path from: {error}") from error
    except (OSError, zipfile.BadZipFile, zlib.error, KeyError, ValueError, RecursionError, EOFError) as error:
        raise LockshipError(f"{name}: cannot read the model's parameters: {error}") from error


def check_derived(
    fast: LinearModel,
    *,
    linear_path: str | os.PathLike[str],
    model_path: str | os.PathLike[str],
    features: Sequence[str],
) -> None:
    """Refuse a linear.json whose numbers are not exactly the parameters stored in model.skops."""
    stored = read_skops_linear(model_path, features)
    fields = ("positions", "fill", "mean", "scale", "coef", "intercept")
    differ = [name for name in fields if not np.array_equal(getattr(fast, name), getattr(stored, name))]
    if list(fast.classes) != list(stored.classes):
        differ.insert(0, "classes")
    if differ:
        raise LockshipError(
            f"{os.fspath(linear_path)}: {', '.join(differ)} differ from the parameters stored in "
            f"{os.fspath(model_path)}: linear.json was not derived from this model"
        )
