"""Signed model directories: key pairs, the signature of package.json, and what a configured key refuses."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from lockship.core.errors import EXIT_USAGE, LockshipError
from lockship.core.model.directory import FILES, LINEAR_FILE
from lockship.core.model.signing import (
    SIGNATURE_FILE,
    UNCHECKED,
    UNSIGNED,
    VERIFIED,
    fingerprint,
    load_private_key,
    read_public_key,
    read_verified_model_dir,
    sign_model_dir,
    write_key_pair,
)
from tests.serving import conftest as serving
from tests.serving.conftest import Trained

trained = serving.trained
SIGNED_FILES = sorted({*FILES, LINEAR_FILE, SIGNATURE_FILE})


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("keys")
    write_key_pair(root / "ours")
    write_key_pair(root / "theirs")
    return root


@pytest.fixture
def signed(trained: Trained, keys: Path, tmp_path: Path) -> Path:
    copy = shutil.copytree(trained.model_dir, tmp_path / "model-dir")
    sign_model_dir(copy, load_private_key(keys / "ours" / "lockship.key", where="test"))
    return copy


def _public(keys: Path, who: str = "ours") -> object:
    return read_public_key(str(keys / who / "lockship.pub"), where="test")


def _refusal(model_dir: Path, key: object) -> str:
    with pytest.raises(LockshipError) as error:
        read_verified_model_dir(model_dir, key)  # type: ignore[arg-type]
    assert len(error.value.problems) == 1, error.value.problems
    return error.value.problems[0]


def test_key_pair_files(tmp_path: Path) -> None:
    private, public, key = write_key_pair(tmp_path / "new")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----\n")
    assert fingerprint(read_public_key(str(public), where="test")) == fingerprint(key)
    # The same key given as PEM text, as LOCKSHIP_PUBLIC_KEY may hold it.
    assert fingerprint(read_public_key(public.read_text(), where="LOCKSHIP_PUBLIC_KEY")) == fingerprint(key)
    with pytest.raises(LockshipError) as error:
        write_key_pair(tmp_path / "new")
    assert error.value.problems == (
        f"{private}: already exists; move it away or choose another --out",
        f"{public}: already exists; move it away or choose another --out",
    )
    assert sorted(path.name for path in (tmp_path / "new").iterdir()) == ["lockship.key", "lockship.pub"]


def test_keys_that_are_not_ed25519_pem_are_usage_errors(tmp_path: Path) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec.key").write_bytes(
        other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (tmp_path / "ec.pub").write_bytes(
        other.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (tmp_path / "junk").write_text("not a key")
    cases = {
        "ec.key": (load_private_key, "expected an ed25519 private key, got "),
        "ec.pub": (read_public_key, "expected an ed25519 public key, got "),
        "junk": (read_public_key, "not a PEM public key"),
        "missing": (read_public_key, "cannot read the key (test): No such file or directory"),
    }
    for name, (reader, message) in cases.items():
        with pytest.raises(LockshipError) as error:
            reader(str(tmp_path / name), where="test")
        assert error.value.exit_code == EXIT_USAGE
        assert error.value.problems[0].startswith(f"{tmp_path / name}: {message}")


def test_a_signed_directory_verifies_with_its_key(signed: Path, keys: Path) -> None:
    key = _public(keys)
    model_dir, provenance = read_verified_model_dir(signed, key)  # type: ignore[arg-type]
    assert (provenance.status, provenance.key) == (VERIFIED, fingerprint(key))  # type: ignore[arg-type]
    assert sorted(path.name for path in signed.iterdir()) == SIGNED_FILES
    assert model_dir.path == signed


def test_without_a_key_nothing_is_called_verified(signed: Path, trained: Trained) -> None:
    assert read_verified_model_dir(signed, None)[1].status == UNCHECKED
    assert read_verified_model_dir(trained.model_dir, None)[1].status == UNSIGNED


@pytest.mark.parametrize("name", SIGNED_FILES)
def test_one_byte_changed_anywhere_refuses(signed: Path, keys: Path, name: str) -> None:
    path = signed / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    message = _refusal(signed, _public(keys))
    # package.json's own change is caught by its signature, which names both files.
    assert message.startswith(f"{path}:") or f" {path} " in message


def test_an_extra_file_or_directory_refuses(signed: Path, keys: Path) -> None:
    (signed / "notes.txt").write_text("hello")
    assert _refusal(signed, _public(keys)).startswith(f"{signed}: unexpected notes.txt: a signed model directory")
    (signed / "notes.txt").unlink()
    (signed / "sub").mkdir()
    assert _refusal(signed, _public(keys)).startswith(f"{signed}: unexpected sub: ")


def test_another_key_or_no_signature_refuses(signed: Path, keys: Path, trained: Trained) -> None:
    theirs = _public(keys, "theirs")
    assert _refusal(signed, theirs) == (
        f"{signed / SIGNATURE_FILE}: does not verify {signed / 'package.json'} with public key "
        f"{fingerprint(theirs)}: the directory was changed after signing, or signed with another key"  # type: ignore[arg-type]
    )
    sign_model_dir(signed, load_private_key(keys / "theirs" / "lockship.key", where="test"))
    assert "does not verify" in _refusal(signed, _public(keys))
    assert _refusal(trained.model_dir, _public(keys)) == (
        f"{trained.model_dir / SIGNATURE_FILE}: missing: the model directory is not signed, and public key "
        f"{fingerprint(_public(keys))} requires a signature"  # type: ignore[arg-type]
    )
    (signed / SIGNATURE_FILE).write_text("not base64!\n")
    assert _refusal(signed, _public(keys)) == f"{signed / SIGNATURE_FILE}: not a base64 signature"
