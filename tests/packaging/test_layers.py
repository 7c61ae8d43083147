"""The app layer: exactly the serving code (no bytecode, no stages or hooks) and the model directory."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.packaging.layers import APP_CODE, app_layer, app_sources, prune_cache
from tests.conftest import REPO_ROOT
from tests.test_pipeline import lockship_imports


def test_app_sources_are_the_serving_code_without_bytecode() -> None:
    names = app_sources(REPO_ROOT)
    assert "opt/lockship/app/lockship/commands/serve.py" in names
    assert "opt/lockship/app/lockship/core/model/directory.py" in names
    assert any(name.startswith("opt/lockship/app/lockship/serving/") for name in names)
    assert not any("/stages/" in name or "/hooks/" in name or "/packaging/" in name for name in names)
    assert not any(name.endswith(".pyc") or "__pycache__" in name for name in names)


def test_the_app_code_is_exactly_what_serving_imports() -> None:
    """Code missing from the image breaks it; code in it that serving never imports changes its tag for nothing."""
    entry_points = [REPO_ROOT / "lockship" / name for name in ("__main__.py", "cli.py", "commands/serve.py")]
    entry_points += sorted((REPO_ROOT / "lockship" / "serving").rglob("*.py"))
    imported = {path.resolve() for path in entry_points}.union(*(lockship_imports(path) for path in entry_points))
    shipped = {path.resolve() for path in app_sources(REPO_ROOT).values()}
    assert {path for path in imported if path.name != "__init__.py"} <= shipped
    assert {path for path in shipped if path.name != "__init__.py"} <= imported


def test_missing_serving_code_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LockshipError, match=f"{APP_CODE[0]}: serving code not found"):
        app_sources(tmp_path)


def test_the_app_layer_holds_code_and_model(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.skops").write_bytes(b"m")
    app_layer(tmp_path / "app.tar", root=REPO_ROOT, model_dir=model)
    with tarfile.open(tmp_path / "app.tar") as archive:
        names = archive.getnames()
    assert "opt/lockship/model/model.skops" in names
    assert "opt/lockship/app/lockship/cli.py" in names


def test_the_cache_keeps_the_most_recently_used_layers(tmp_path: Path) -> None:
    for age, name in enumerate(["d", "c", "b", "a"]):
        (tmp_path / "bytecode" / f"{name}.tar").parent.mkdir(exist_ok=True)
        (tmp_path / "bytecode" / f"{name}.tar").write_bytes(b"")
        (tmp_path / "site" / name).mkdir(parents=True)
        (tmp_path / "site" / name / "site.tar").write_bytes(b"")
        for path in (tmp_path / "bytecode" / f"{name}.tar", tmp_path / "site" / name):
            os.utime(path, (1000 - age, 1000 - age))
    (tmp_path / "site" / ".build-x").mkdir()  # another build's scratch: not a layer
    prune_cache(tmp_path, {"site": 1, "bytecode": 3})
    assert sorted(path.name for path in (tmp_path / "bytecode").iterdir()) == ["b.tar", "c.tar", "d.tar"]
    assert sorted(path.name for path in (tmp_path / "site").iterdir()) == [".build-x", "d"]
    prune_cache(tmp_path / "absent")
