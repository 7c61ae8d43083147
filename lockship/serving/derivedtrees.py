"""trees.json checked against model.skops itself, without scikit-learn (as `derived` does for linear.json).

skops keeps every fitted tree's node table (`nodes`, a numpy structured array) and `values` as .npy
members, so the trees of a random forest or gradient boosting, with the pipeline's imputation and
scaling, are read with json and numpy (`allow_pickle=False`) and compared with trees.json number for
number at every start: the server walks exactly the trees of the model `/metadata` names, or does not start.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from lockship.core.errors import LockshipError
from lockship.serving.derived import NotDerivable, Reader, estimator_node, float_array, read_prep
from lockship.serving.trees import BOOSTING, FOREST, Prep, TreeEnsemble, array_equal, from_nodes

FOREST_CLASS = ("sklearn.ensemble._forest", "RandomForestClassifier")
BOOSTING_CLASS = ("sklearn.ensemble._gb", "GradientBoostingClassifier")
TREE_CLASSIFIER = ("sklearn.tree._classes", "DecisionTreeClassifier")
TREE_REGRESSOR = ("sklearn.tree._classes", "DecisionTreeRegressor")
TREE = ("sklearn.tree._tree", "Tree")
DUMMY = ("sklearn.dummy", "DummyClassifier")
NODE_FIELDS = ("left_child", "right_child", "feature", "threshold")


def _tree(reader: Reader, node: Any, kind: tuple[str, str]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """One fitted tree's node table and values."""
    tree = reader.attributes(reader.attributes(node, kind).get("tree_"), TREE)
    nodes, values = reader.array(tree, "nodes"), reader.array(tree, "values")
    if nodes is None or nodes.dtype.names is None or not set(NODE_FIELDS) <= set(nodes.dtype.names):
        raise NotDerivable("a tree without its node table")
    if values is None or values.dtype.kind != "f" or len(values) != len(nodes):
        raise NotDerivable("a tree without a value per node")
    return nodes, values


def _classes(reader: Reader, attributes: dict[str, Any]) -> list[Any]:
    classes = reader.array(attributes, "classes_")
    if classes is None or classes.dtype.kind not in "iubU":
        raise NotDerivable("classes_ are not plain values")
    return list(classes.tolist())


def _ensemble(reader: Reader, schema: Any, features: Sequence[str]) -> TreeEnsemble:
    """The same reading of the fitted pipeline as `lockship.packaging.treeexport.extract_trees`."""
    node = estimator_node(reader, schema)
    kind = (node.get("__module__"), node.get("__class__")) if isinstance(node, dict) else None
    if kind not in (FOREST_CLASS, BOOSTING_CLASS):
        raise NotDerivable(f"expected a random forest or gradient boosting classifier, found {kind}")
    positions, fills, means, scales = read_prep(reader, schema, features, scaled=False)
    prep = Prep(
        np.asarray(positions, dtype=np.intp), np.concatenate(fills), np.concatenate(means), np.concatenate(scales)
    )
    estimator = reader.attributes(node, kind)
    classes = _classes(reader, estimator)
    if kind == FOREST_CLASS:
        if reader.value(estimator.get("n_outputs_")) != 1:
            raise NotDerivable("a forest of several outputs")
        trees = [_tree(reader, tree, TREE_CLASSIFIER) for tree in reader.items(estimator.get("estimators_"))]
        return from_nodes(FOREST, classes, prep, trees)
    init = reader.attributes(estimator.get("init_"), DUMMY)
    if reader.value(estimator.get("loss")) != "log_loss" or reader.value(init.get("strategy")) != "prior":
        raise NotDerivable("a boosting other than log loss from the class prior")
    rounds = estimator.get("estimators_")
    if not isinstance(rounds, dict) or rounds.get("type") != "json" or not isinstance(rounds.get("content"), list):
        raise NotDerivable("estimators_ is not a stored array of trees")
    table = [reader.items(row) for row in rounds["content"]]
    outputs = len(table[0]) if table else 0
    if not outputs or any(len(row) != outputs for row in table):
        raise NotDerivable("estimators_ is not a table of trees")
    learning_rate = reader.value(estimator.get("learning_rate"))
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, int | float):
        raise NotDerivable("learning_rate is not a number")
    return from_nodes(
        BOOSTING,
        classes,
        prep,
        [_tree(reader, tree, TREE_REGRESSOR) for row in table for tree in row],
        learning_rate=float(learning_rate),
        outputs=outputs,
        prior=float_array(reader.array(init, "class_prior_"), "class_prior_"),
    )


def read_skops_trees(path: str | os.PathLike[str], features: Sequence[str]) -> TreeEnsemble:
    """The forest's or boosting's trees as stored in a skops file; a LockshipError if it holds neither."""
    name = os.fspath(path)
    try:
        with zipfile.ZipFile(name) as archive:
            reader = Reader(archive)
            return _ensemble(reader, json.loads(reader.member("schema.json")), features)
    except NotDerivable as error:
        raise LockshipError(f"{name}: holds no tree ensemble to read a fast path from: {error}") from error
    except (OSError, zipfile.BadZipFile, zlib.error, KeyError, ValueError, RecursionError, EOFError) as error:
        raise LockshipError(f"{name}: cannot read the model's trees: {error}") from error


def check_derived_trees(
    fast: TreeEnsemble,
    *,
    trees_path: str | os.PathLike[str],
    model_path: str | os.PathLike[str],
    features: Sequence[str],
) -> None:
    """Refuse a trees.json whose numbers are not exactly the trees and preprocessing stored in model.skops."""
    differ = array_equal(fast, read_skops_trees(model_path, features))
    if differ:
        raise LockshipError(
            f"{os.fspath(trees_path)}: {', '.join(differ)} differ from the trees stored in "
            f"{os.fspath(model_path)}: trees.json was not derived from this model"
        )
