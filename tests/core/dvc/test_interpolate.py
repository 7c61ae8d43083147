from __future__ import annotations

import pytest

from lockship.core.dvc.interpolate import interpolate
from lockship.core.errors import LockshipError


def test_interpolation() -> None:
    context = {"n": 3, "flag": True, "opts": {"lr": 0.1, "fast": True, "name": "a b"}, "xs": [1, {"y": "z"}]}
    assert interpolate("${n}", context) == 3
    assert interpolate("n=${n} ${flag} ${xs[1].y} ${xs.0}", context) == "n=3 true z 1"
    assert interpolate("train ${opts}", context, "cmd") == "train --lr 0.1 --fast --name 'a b'"
    assert interpolate(r"echo \${n}", context) == "echo ${n}"
    with pytest.raises(LockshipError, match=r"cannot interpolate \$\{missing\}"):
        interpolate("${missing}", context)
