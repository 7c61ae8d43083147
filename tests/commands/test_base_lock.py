"""`lockship base-lock`: resolve the base into package/base.lock, say what changed, write nothing with --check."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from lockship.cli import main as cli
from lockship.commands.base_lock import base_lock, differences, main
from lockship.packaging import baselock
from lockship.packaging.baselock import Deb, RegistryLock
from lockship.packaging.debs import SOURCES_ENV
from tests.packaging.aptrepo import cached_debs, committed_lock, mirror

DIGEST = "sha256:" + "12" * 32
PARAMS = "package:\n  name: lockship-model\n  base: {base}\n  runtime: [fastapi]\n"


def test_a_registry_base_pinned_by_digest_is_written_then_up_to_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params, lock = tmp_path / "params.yaml", tmp_path / "package" / "base.lock"
    params.write_text(PARAMS.format(base=f"python@{DIGEST}"))
    assert main(["--params", str(params), "--lock", str(lock)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{lock}: written (python@{DIGEST} at {DIGEST}); the image tag changes with it",
        "  (no previous lock)",
    ]
    assert baselock.load(lock) == RegistryLock(f"python@{DIGEST}", DIGEST)
    assert cli(["base-lock", "--params", str(params), "--lock", str(lock), "--check"]) == 0
    assert capsys.readouterr().out == f"{lock}: up to date (python@{DIGEST} at {DIGEST})\n"
    other = "sha256:" + "34" * 32
    params.write_text(PARAMS.format(base=f"python@{other}"))
    written = lock.read_text()
    assert main(["--params", str(params), "--lock", str(lock), "--check"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{lock}: would change (python@{other} at {other}); the image tag changes with it",
        f"  python@{DIGEST} at {DIGEST} -> python@{other} at {other}",
    ]
    assert lock.read_text() == written


def test_bad_params_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("package:\n  name: lockship-model\n  runtime: [fastapi]\n")
    assert main(["--params", str(params), "--lock", str(tmp_path / "base.lock")]) == 1
    assert "missing required key 'base'" in capsys.readouterr().err
    assert not (tmp_path / "base.lock").exists()


def test_the_differences_name_each_package_that_moved() -> None:
    lock = committed_lock()
    libc = next(deb for deb in lock.packages if deb.name == "libc6")
    moved = Deb("libc6", "2.36-9+deb12u99", libc.architecture, "0" * 64)
    extra = Deb("zlib-extra", "1.0", "amd64", "1" * 64)
    packages = tuple(sorted([*(d for d in lock.packages if d != libc), moved, extra]))
    assert differences(lock, dataclasses.replace(lock, packages=packages)) == (
        f"libc6: {libc.version} -> 2.36-9+deb12u99",
        "zlib-extra: (none) -> 1.0",
    )
    assert differences(lock, lock) == ()


@pytest.mark.skipif(shutil.which("mmdebstrap") is None, reason="needs mmdebstrap")
@pytest.mark.timeout(600)
def test_a_debian_base_resolves_to_every_installed_package_from_the_mirror(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The mirror is a local repository serving exactly the committed lock's .debs: resolving against it
    # must give that lock back, byte for byte.
    monkeypatch.setenv(SOURCES_ENV, str(mirror(tmp_path / "mirror", cached_debs())))
    path = tmp_path / "base.lock"
    outcome = base_lock("mmdebstrap:bookworm", path, cache=tmp_path / "cache")
    assert outcome.written and outcome.changed == ("(no previous lock)",)
    assert path.read_text() == baselock.render(committed_lock())
    again = base_lock("mmdebstrap:bookworm", path, check=True, cache=tmp_path / "cache")
    assert (again.changed, again.written) == ((), False)
