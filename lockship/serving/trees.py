"""Random forests and gradient boosting served with numpy alone, from the trees packaging exported.

scikit-learn spends most of a forest's one-row call outside the trees (a DataFrame through the
column transformer, input checks, 200 Python-level tree calls); a walk of all trees at once, one
vectorised step per level of depth, answers in well under a millisecond. At packaging the fitted
preprocessing and trees are read from the pipeline into `trees.json`, checked against the
pipeline's own `predict` and `predict_proba`, and recorded by sha256 in package.json; at every
start they are read again from model.skops (`lockship.serving.derivedtrees`) and compared number for
number, so the server serves exactly the model `/metadata` names.

trees.json holds `kind` (random_forest or gradient_boosting), `classes`, the preprocessing as in
linear.json (`positions`, `fill`, `mean`, `scale`: the columns the trees see are
`(fill(x[:, positions]) - mean) / scale`), `sizes` (the node count of every tree, in the order
the model adds them up) and, for every node of every tree in turn, `feature`, `threshold`,
`left`, `right` (scikit-learn's own node arrays: a leaf has left = right = -1) and `value` (the
leaf's class fractions for a forest, its raw score for boosting). Boosting adds `learning_rate`,
`outputs` (trees per round: 1 for two classes, one per class otherwise) and `prior` (the class
frequencies its initial score comes from).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from lockship.core.data.schema import Scalar
from lockship.core.errors import LockshipError
from lockship.core.jsonfields import Fields, open_regular, parse_json
from lockship.serving.linear import Indices, Matrix, array_field

TREES_FORMAT = 1
FOREST, BOOSTING = "random_forest", "gradient_boosting"
# A forest of 1,000 unbounded trees on a large table writes about 100 MB; beyond that the pipeline serves.
MAX_TREES_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Prep:
    """The column transformer's imputation (and scaling) as arrays over the model's features."""

    positions: Indices
    fill: Matrix
    mean: Matrix
    scale: Matrix


@dataclass(frozen=True)
class TreeEnsemble:
    kind: str
    classes: tuple[Scalar, ...]
    prep: Prep
    sizes: Indices
    feature: Indices
    threshold: Matrix
    left: Indices
    right: Indices
    value: Matrix
    learning_rate: float = 0.0
    outputs: int = 1
    prior: Matrix = field(default_factory=lambda: np.zeros(0))
    _walk: _Walk = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_walk", _Walk(self))

    def __call__(self, matrix: Matrix) -> tuple[Indices, Matrix]:
        """Class indices and probabilities, as the pipeline's `predict` and `predict_proba` give them."""
        prep = self.prep
        x = matrix[:, prep.positions]
        missing = np.isnan(x)
        if missing.any():
            x = np.where(missing, prep.fill, x)
        # scikit-learn's trees compare float32 inputs with float64 thresholds.
        leaves = self._walk(((x - prep.mean) / prep.scale).astype(np.float32))
        if self.kind == FOREST:
            probabilities = self._walk.sums(leaves) / len(self.sizes)
            return probabilities.argmax(axis=1).astype(np.intp), probabilities
        # Round by round from the initial score, as scikit-learn's predict_stages adds them.
        rounds = leaves.reshape(-1, self.outputs, len(matrix))
        scores = self._walk.leaf_value[0]
        raw = np.stack([
            _in_order(np.concatenate([np.full((1, len(matrix)), init), scores.take(rounds[:, k])]))
            for k, init in enumerate(self._walk.init[:, 0])
        ])  # fmt: skip
        if self.outputs == 1:
            scores = raw[0]
            small = np.exp(-np.abs(scores))
            positive = np.where(scores >= 0, 1 / (1 + small), small / (1 + small))
            return (scores >= 0).astype(np.intp), np.stack([1 - positive, positive], axis=1)
        raw = raw.T
        shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
        return raw.argmax(axis=1).astype(np.intp), shifted / shifted.sum(axis=1, keepdims=True)

    def to_text(self) -> str:
        """trees.json's bytes: compact (a forest has tens of thousands of nodes), sorted, exact floats."""
        document: dict[str, Any] = {
            "format": TREES_FORMAT,
            "kind": self.kind,
            "classes": list(self.classes),
            "positions": self.prep.positions.tolist(),
            "fill": self.prep.fill.tolist(),
            "mean": self.prep.mean.tolist(),
            "scale": self.prep.scale.tolist(),
            "sizes": self.sizes.tolist(),
            "feature": self.feature.tolist(),
            "threshold": self.threshold.tolist(),
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "value": self.value.tolist(),
        }
        if self.kind == BOOSTING:
            document |= {"learning_rate": self.learning_rate, "outputs": self.outputs, "prior": self.prior.tolist()}
        return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"


class _Walk:
    """The trees as flat arrays over all nodes, for a walk of every tree and row at once.

    A leaf points at itself with an infinite threshold, so rows that reach a leaf early stay there
    while the deepest tree is walked to its end. Node numbers are kept doubled (`2 * node`, then
    `+ 1` to go right) so that a step is one comparison and one lookup of the child. The inputs are
    float32, as scikit-learn's trees take them, and so are the thresholds: each is the largest
    float32 not above the float64 threshold, for which `x > t32` holds exactly when `x > t` does.
    int32 numbers and reused buffers halve the memory a step touches; rows are walked in blocks of
    `BLOCK`, whose trees-by-rows arrays stay in the CPU cache.
    """

    BLOCK = 64

    def __init__(self, model: TreeEnsemble) -> None:
        offsets = np.concatenate([[0], np.cumsum(model.sizes)[:-1]]).astype(np.intp)
        tree_of = np.repeat(np.arange(len(model.sizes)), model.sizes)
        own = np.arange(len(model.feature), dtype=np.intp)
        leaf = model.left < 0
        left = np.where(leaf, own, model.left + offsets[tree_of])
        right = np.where(leaf, own, model.right + offsets[tree_of])
        self.depth = _depth(left, right, offsets)
        index = np.int32 if max(2 * len(own) + 2, self.BLOCK * len(model.prep.positions)) < 2**31 else np.intp
        self.children = (2 * np.stack([left, right], axis=1).reshape(-1)).astype(index)
        self.feature = np.repeat(np.where(leaf, 0, model.feature), 2).astype(index)
        threshold = np.where(leaf, np.inf, model.threshold)
        below = threshold.astype(np.float32)
        below = np.where(below.astype(np.float64) > threshold, np.nextafter(below, np.float32(-np.inf)), below)
        self.threshold = np.repeat(below, 2)
        self.roots = (2 * offsets).astype(index)
        if model.kind == FOREST:
            self.leaf_value = np.ascontiguousarray(model.value)  # one row per node, one column per class
            self.init = np.zeros(0)
        else:
            self.leaf_value = model.learning_rate * model.value.T
            self.init = _initial_scores(model.prior, model.outputs)

    def __call__(self, x: npt.NDArray[np.float32]) -> Indices:
        """The leaf every tree (first axis) sends every row (second axis, float32 columns) to."""
        (trees, rows), columns = (len(self.roots), len(x)), x.shape[1]
        x = np.ascontiguousarray(x)
        leaves = np.empty((trees, rows), dtype=self.roots.dtype)
        for start in range(0, rows, self.BLOCK):
            count = min(self.BLOCK, rows - start)
            flat = x[start : start + count].reshape(-1)
            offset = np.arange(0, count * columns, columns, dtype=self.roots.dtype)
            node = np.repeat(self.roots[:, np.newaxis], count, axis=1)
            where = np.empty_like(node)
            values, thresholds = np.empty(node.shape, dtype=np.float32), np.empty(node.shape, dtype=np.float32)
            right = np.empty(node.shape, dtype=bool)
            for _ in range(self.depth):
                np.take(self.feature, node, out=where)
                where += offset
                np.take(flat, where, out=values)
                np.take(self.threshold, node, out=thresholds)
                np.greater(values, thresholds, out=right)
                node += right
                np.take(self.children, node, out=node)
            leaves[:, start : start + count] = node
        leaves //= 2
        return leaves

    def sums(self, leaves: Indices) -> Matrix:
        """The forest's leaf values summed over its trees in its order: one row per input row, one column per class."""
        return _in_order(self.leaf_value.take(leaves, axis=0))


def _in_order(terms: Matrix) -> Matrix:
    """The sum over the first axis, first to last, as scikit-learn adds its trees.

    A reduction would sum a single row pairwise, so a row's answer would change with its batch;
    accumulate always adds in order.
    """
    np.add.accumulate(terms, axis=0, out=terms)
    total: Matrix = terms[-1]
    return total


def _depth(left: Indices, right: Indices, roots: Indices) -> int:
    """The most edges from a root to a leaf (children always follow their parent, so this ends)."""
    frontier, depth = roots, 0
    while True:
        inner = frontier[left[frontier] != frontier]
        if not inner.size:
            return depth
        frontier, depth = np.concatenate([left[inner], right[inner]]), depth + 1


def _initial_scores(prior: Matrix, outputs: int) -> Matrix:
    """The boosting's starting score from its class frequencies (scikit-learn's logit link, clipped as there)."""
    eps = np.finfo(np.float64).eps
    if outputs == 1:
        p = np.clip(prior[1], eps, 1 - eps)
        return np.asarray([[np.log(p / (1 - p))]])
    logs = np.log(np.clip(prior, eps, 1 - eps))
    return np.asarray((logs - logs.mean())[:, np.newaxis], dtype=np.float64)


def read_trees(path: str | os.PathLike[str], *, features: int) -> TreeEnsemble:
    """Read trees.json for a model of `features` inputs; every inconsistency is a `path: key: problem` line."""
    name = os.fspath(path)
    with open_regular(path, name=name, limit=MAX_TREES_BYTES) as handle:
        content = handle.read(MAX_TREES_BYTES + 1)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LockshipError(f"{name}: not UTF-8 text") from error
    fields = Fields(parse_json(text, name, lines=False))
    if not isinstance(fields.document.data, dict):
        raise LockshipError(f"{name}: expected a JSON object (the tree fast path)")
    version = fields.get(("format",), int, "an integer")
    if version is not None and version != TREES_FORMAT:
        fields.problem(("format",), f"unsupported format {version}, this lockship reads {TREES_FORMAT}")
    kind = fields.get(("kind",), str, f"{FOREST} or {BOOSTING}")
    if kind is not None and kind not in (FOREST, BOOSTING):
        fields.problem(("kind",), f"expected {FOREST} or {BOOSTING}, got {kind!r}")
    classes = fields.get(("classes",), list, "a list of classes")
    positions = array_field(fields, "positions", np.intp)
    if positions is not None and not (
        positions.size and len(set(positions.tolist())) == len(positions) and all(0 <= p < features for p in positions)
    ):
        fields.problem(("positions",), f"expected distinct feature indices below the model's {features} features")
        positions = None
    columns = None if positions is None else len(positions)
    fill, mean, scale = (array_field(fields, key, np.float64, (columns,)) for key in ("fill", "mean", "scale"))
    if scale is not None and not np.all(scale):
        fields.problem(("scale",), "a scale of 0")
    sizes = array_field(fields, "sizes", np.intp)
    if sizes is not None and not (sizes.size and np.all(sizes > 0)):
        fields.problem(("sizes",), "expected at least one tree, each of at least one node")
        sizes = None
    nodes = None if sizes is None else int(sizes.sum())
    feature, left, right = (array_field(fields, key, np.intp, (nodes,)) for key in ("feature", "left", "right"))
    threshold = array_field(fields, "threshold", np.float64, (nodes,))
    outputs, learning_rate, prior = 1, 0.0, np.zeros(0)
    if kind == BOOSTING:
        outputs = fields.get(("outputs",), int, "an integer") or 1
        learning_rate = fields.get(("learning_rate",), (int, float), "a number") or 0.0
        prior = array_field(fields, "prior", np.float64, (None if classes is None else len(classes),))
    width = 1 if kind == BOOSTING else (None if classes is None else len(classes))
    value = array_field(fields, "value", np.float64, (nodes, width))
    fields.check()
    _check_structure(fields, sizes, feature, left, right, len(positions), outputs, len(classes), kind)
    fields.check()
    return TreeEnsemble(
        kind, tuple(classes), Prep(positions, fill, mean, scale), sizes, feature, threshold, left, right, value,
        float(learning_rate), outputs, prior,
    )  # fmt: skip


def _check_structure(
    fields: Fields, sizes: Indices, feature: Indices, left: Indices, right: Indices, columns: int, outputs: int,
    classes: int, kind: str,
) -> None:  # fmt: skip
    """Children inside their own tree and after their parent (the walk ends), features among the columns."""
    offsets = np.repeat(np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
    local = np.arange(len(feature)) - offsets
    leaf = (left == -1) & (right == -1)
    inner = ~leaf
    tree_size = np.repeat(sizes, sizes)
    if np.any(inner & ((left <= local) | (right <= local) | (left >= tree_size) | (right >= tree_size))):
        fields.problem(("left",), "expected every node's children after it in its own tree, or -1 and -1 for a leaf")
    if np.any(inner & ((feature < 0) | (feature >= columns))):
        fields.problem(("feature",), f"expected column indices below the {columns} the preprocessing gives")
    if kind == BOOSTING and (outputs != (1 if classes == 2 else classes) or len(sizes) % outputs):
        fields.problem(("outputs",), f"expected {1 if classes == 2 else classes} trees per round for {classes} classes")


def array_equal(first: TreeEnsemble, second: TreeEnsemble) -> list[str]:
    """The fields in which two ensembles differ, compared exactly."""
    differ = [name for name in ("kind", "learning_rate", "outputs") if getattr(first, name) != getattr(second, name)]
    if list(first.classes) != list(second.classes):
        differ.append("classes")
    differ += [name for name in ("positions", "fill", "mean", "scale") if not _same(first.prep, second.prep, name)]
    arrays = ("sizes", "feature", "threshold", "left", "right", "value", "prior")
    return differ + [name for name in arrays if not _same(first, second, name)]


def _same(first: Any, second: Any, name: str) -> bool:
    a, b = getattr(first, name), getattr(second, name)
    return bool(a.shape == b.shape and np.array_equal(a, b))


def from_nodes(
    kind: str,
    classes: Sequence[Scalar],
    prep: Prep,
    trees: Sequence[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]],
    *,
    learning_rate: float = 0.0,
    outputs: int = 1,
    prior: Matrix | None = None,
) -> TreeEnsemble:
    """An ensemble from each tree's node and value arrays as scikit-learn keeps them (`Tree.__getstate__`)."""
    nodes = [node for node, _ in trees]
    return TreeEnsemble(
        kind=kind,
        classes=tuple(classes),
        prep=prep,
        sizes=np.asarray([len(node) for node in nodes], dtype=np.intp),
        feature=np.concatenate([node["feature"] for node in nodes]).astype(np.intp),
        threshold=np.concatenate([node["threshold"] for node in nodes]).astype(np.float64),
        left=np.concatenate([node["left_child"] for node in nodes]).astype(np.intp),
        right=np.concatenate([node["right_child"] for node in nodes]).astype(np.intp),
        value=np.concatenate([value.reshape(len(value), -1) for _, value in trees]).astype(np.float64),
        learning_rate=float(learning_rate),
        outputs=outputs,
        prior=np.zeros(0) if prior is None else np.asarray(prior, dtype=np.float64),
    )
