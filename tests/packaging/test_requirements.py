"""The image's wheels: the serving closure of the project's lock, pins and hashes kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.packaging.requirements import closure, parse_lock, runtime_lock
from tests.conftest import REPO_ROOT

LOCK = """\
# generated
alpha==1.0 \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb
    # via lockship
beta-lib==2.0 \\
    --hash=sha256:cccc
    # via alpha
gamma==3.0 \\
    --hash=sha256:dddd
winonly==1.0 \\
    --hash=sha256:eeee
"""
REQUIRES = {
    "alpha": ["Beta_Lib>=2", "winonly; sys_platform == 'win32'", "gamma; extra == 'fast'"],
    "beta-lib": [],
    "gamma": [],
    "winonly": [],
}


def test_parse_lock_keeps_each_entry_with_its_hashes() -> None:
    pins = parse_lock(LOCK, "requirements.lock")
    assert sorted(pins) == ["alpha", "beta-lib", "gamma", "winonly"]
    assert pins["alpha"].text == "alpha==1.0 \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb"
    assert pins["beta-lib"].version == "2.0"


def test_closure_follows_markers_and_extras_of_the_target_platform() -> None:
    assert closure(["alpha"], REQUIRES.__getitem__) == ["alpha", "beta-lib"]
    assert closure(["alpha[fast]"], REQUIRES.__getitem__) == ["alpha", "beta-lib", "gamma"]


def test_runtime_lock_of_the_real_lock_is_the_serving_subset() -> None:
    text, pins = runtime_lock(REPO_ROOT / "requirements.lock", ["fastapi", "scikit-learn", "skops", "uvicorn"])
    names = {pin.name for pin in pins}
    assert {"fastapi", "starlette", "pydantic", "scikit-learn", "scipy", "numpy", "skops", "uvicorn"} <= names
    assert not names & {"dvc", "pytest", "mypy", "ruff", "pre-commit", "uv", "schemathesis", "setuptools"}
    assert text.count("==") == len(pins)
    assert all("--hash=sha256:" in pin.text for pin in pins)


def test_a_requirement_missing_from_the_lock_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "requirements.lock").write_text(LOCK)
    requires = {**REQUIRES, "alpha": ["delta"], "delta": []}
    with pytest.raises(LockshipError, match="runtime requirement 'delta' is not pinned in the lock"):
        runtime_lock(tmp_path / "requirements.lock", ["alpha"], requires=requires.__getitem__)
    (tmp_path / "requirements.lock").write_text("alpha>=1\n")
    with pytest.raises(LockshipError, match=r"requirements\.lock:1: expected a `name==version` pin"):
        runtime_lock(tmp_path / "requirements.lock", ["alpha"], requires=requires.__getitem__)
    with pytest.raises(LockshipError, match="file not found"):
        runtime_lock(tmp_path / "missing.lock", ["alpha"])
