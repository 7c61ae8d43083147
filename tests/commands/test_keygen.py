"""`lockship keygen`: a key pair on disk, the public key printed, nothing ever overwritten."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lockship.commands.keygen import main
from lockship.core.model.signing import fingerprint, read_public_key


def test_keygen_writes_a_pair_and_prints_the_public_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path / "keys")]) == 0
    out = capsys.readouterr().out
    private, public = tmp_path / "keys" / "lockship.key", tmp_path / "keys" / "lockship.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----\n")
    key = fingerprint(read_public_key(str(public), where="test"))
    assert f"LOCKSHIP_SIGNING_KEY={private}" in out
    assert f"{key}; lockship serve --public-key {public}" in out
    assert out.endswith(public.read_text())
    before = private.read_bytes()
    assert main(["--out", str(tmp_path / "keys")]) == 1
    assert f"{private}: already exists" in capsys.readouterr().err
    assert private.read_bytes() == before
