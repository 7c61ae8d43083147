from __future__ import annotations

from lockship.core.dvc.staleness import param_changes


def test_param_changes_name_each_leaf() -> None:
    locked = {"train": {"seed": 42, "opt": {"lr": 0.1}}, "gone": 1}
    current = {"train": {"seed": 42, "opt": {"lr": 0.2, "mom": 0.9}}, "new": [1, 2]}
    changes = [text for _, text in param_changes("params.yaml", (), locked, current)]
    assert changes == [
        "param train.opt.lr changed: 0.1 -> 0.2",
        "param train.opt.mom changed: (absent) -> 0.9",
        "param new is new: [1, 2]",
        "param gone removed from params.yaml (locked: 1)",
    ]
    assert param_changes("p", ("a.b",), {"a.b": 1}, {"a": {"b": 1.0}}) == []  # DVC compares with ==
