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


class NotDerivable(Exception):
    """model.skops does not hold the pipeline a fast-path file describes (its reason is the message)."""


class Reader:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    def member(self, name: str) -> bytes:
        info = self.archive.getinfo(name)
        if info.file_size > MAX_MEMBER_BYTES:
            raise NotDerivable(f"member {name} inflates to {info.file_size} bytes")
        return self.archive.read(info)

    def attributes(self, node: Any, kind: tuple[str, str]) -> dict[str, Any]:
        """The attribute nodes of an object node of exactly `kind` (module, class)."""
        if not isinstance(node, dict) or (node.get("__module__"), node.get("__class__")) != kind:
            found = (node.get("__module__"), node.get("__class__")) if isinstance(node, dict) else type(node).__name__
            raise NotDerivable(f"expected {'.'.join(kind)}, found {found}")
        content = node.get("content", {})
        attributes = content.get("content") if isinstance(content, dict) else None
        if not isinstance(attributes, dict):
            raise NotDerivable(f"{'.'.join(kind)} without attributes")
        return attributes

    @staticmethod
    def items(node: Any) -> list[Any]:
        """The items of a list or tuple node."""
        if not isinstance(node, dict) or node.get("__loader__") not in ("ListNode", "TupleNode"):
            raise NotDerivable("expected a list or tuple")
        content = node.get("content")
        if not isinstance(content, list):
            raise NotDerivable("expected a list or tuple")
        return content

    @staticmethod
    def value(node: Any) -> Any:
        """A JSON scalar node's value (skops writes NaN for a float NaN)."""
        text = node.get("content") if isinstance(node, dict) and node.get("__loader__") == "JsonNode" else None
        if not isinstance(text, str):
            raise NotDerivable("expected a plain value")
        return json.loads(text)

    def array(self, attributes: dict[str, Any], name: str) -> np.ndarray[Any, Any] | None:
        """A fitted numpy attribute from its .npy member; None when the attribute is None."""
        node = attributes.get(name)
        if isinstance(node, dict) and node.get("__loader__") == "JsonNode" and node.get("content") == "null":
            return None
        if not isinstance(node, dict) or node.get("__loader__") != "NdArrayNode":
            raise NotDerivable(f"{name} is not a stored numpy array")
        if node.get("type") == "json":  # how skops stores an object array, such as string classes
            items = node.get("content")
            if not isinstance(items, list):
                raise NotDerivable(f"{name} is not a stored numpy array")
            return np.asarray([self.value(item) for item in items])
        if node.get("type") != "numpy":
            raise NotDerivable(f"{name} is not a stored numpy array")
        return np.asarray(np.load(io.BytesIO(self.member(str(node.get("file")))), allow_pickle=False))


def float_array(array: np.ndarray[Any, Any] | None, name: str) -> np.ndarray[Any, Any]:
    if array is None or array.dtype.kind not in "fi":
        raise NotDerivable(f"{name} is not numeric")
    return array.astype(np.float64)


def _columns(reader: Reader, node: Any) -> list[str]:
    columns = [reader.value(item) for item in reader.items(node)]
    if not all(isinstance(column, str) for column in columns):
        raise NotDerivable("columns are not selected by name")
    return columns


def read_prep(
    reader: Reader, schema: Any, features: Sequence[str], *, scaled: bool
) -> tuple[list[int], list[np.ndarray[Any, Any]], list[np.ndarray[Any, Any]], list[np.ndarray[Any, Any]]]:
    """A two-step pipeline's column transformer as positions, fills, means and scales; and its estimator's node.

    `scaled` asks for impute-then-scale columns (a linear model); otherwise a column may be imputed only.
    The same reading as `lockship.serving.linear.extract` and `lockship.packaging.treeexport.extract_prep`.
    """
    prep = reader.attributes(_steps(reader, schema)[0], COLUMN_TRANSFORMER)
    positions: list[int] = []
    fills, means, scales = [], [], []
    for entry in reader.items(prep.get("transformers_")):
        _, transformer, selection = reader.items(entry)
        columns = _columns(reader, selection)
        if not columns or (transformer.get("__loader__") == "JsonNode" and reader.value(transformer) == "drop"):
            continue
        inner = [reader.items(step)[1] for step in reader.items(reader.attributes(transformer, PIPELINE).get("steps"))]
        if len(inner) != 2 and (scaled or len(inner) != 1):
            raise NotDerivable("a column pipeline other than impute then scale")
        imputer = reader.attributes(inner[0], IMPUTER)
        missing = reader.value(imputer.get("missing_values"))
        if reader.value(imputer.get("add_indicator")) is not False or not (
            isinstance(missing, float) and math.isnan(missing)
        ):
            raise NotDerivable("an imputer other than NaN without indicator")
        if any(column not in features for column in columns):
            raise NotDerivable("a column that is not a feature")
        fill = float_array(reader.array(imputer, "statistics_"), "statistics_")
        if not scaled and (len(fill) != len(columns) or not np.all(np.isfinite(fill))):
            raise NotDerivable("an imputer that drops a column")
        positions += [list(features).index(column) for column in columns]
        fills.append(fill)
        scaler = reader.attributes(inner[1], SCALER) if len(inner) == 2 else {}
        mean = reader.array(scaler, "mean_") if scaler else None
        scale = reader.array(scaler, "scale_") if scaler else None
        means.append(np.zeros(len(columns)) if mean is None else float_array(mean, "mean_"))
        scales.append(np.ones(len(columns)) if scale is None else float_array(scale, "scale_"))
    if not positions:
        raise NotDerivable("no imputed columns")
    return positions, fills, means, scales


def _steps(reader: Reader, schema: Any) -> list[Any]:
    """The nodes of a two-step pipeline's steps."""
    steps = reader.items(reader.attributes(schema, PIPELINE).get("steps"))
    if len(steps) != 2:
        raise NotDerivable(f"a pipeline of {len(steps)} steps")
    return [reader.items(step)[1] for step in steps]


def estimator_node(reader: Reader, schema: Any) -> Any:
    """The fitted estimator's node: the pipeline's second step."""
    return _steps(reader, schema)[1]


def _linear(reader: Reader, schema: Any, features: Sequence[str]) -> LinearModel:
    """The same reading of the fitted pipeline as `lockship.serving.linear.extract`, from skops' description."""
    estimator = reader.attributes(estimator_node(reader, schema), LOGISTIC)
    positions, fills, means, scales = read_prep(reader, schema, features, scaled=True)
    classes = reader.array(estimator, "classes_")
    if classes is None or classes.dtype.kind not in "iubU":
        raise NotDerivable("classes_ are not plain values")
    return LinearModel(
        classes=tuple(classes.tolist()),
        positions=np.asarray(positions, dtype=np.intp),
        fill=np.concatenate(fills),
        mean=np.concatenate(means),
        scale=np.concatenate(scales),
        coef=float_array(reader.array(estimator, "coef_"), "coef_").T.copy(),
        intercept=float_array(reader.array(estimator, "intercept_"), "intercept_"),
    )


def read_skops_linear(path: str | os.PathLike[str], features: Sequence[str]) -> LinearModel:
    """The scaled logistic regression's parameters as stored in a skops file; a LockshipError if it holds none."""
    name = os.fspath(path)
    try:
        with zipfile.ZipFile(name) as archive:
            reader = Reader(archive)
            return _linear(reader, json.loads(reader.member("schema.json")), features)
    except NotDerivable as error:
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
