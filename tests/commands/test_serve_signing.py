"""The signing round trip through the real `lockship serve`: a signed model directory serves; any change refuses.

Also the attack from issue 8: linear.json's coefficients negated, with linear_sha256 and
example_probabilities updated in package.json to match.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest

from lockship.core.fsio import canonical_json
from lockship.core.model.signing import (
    SIGNATURE_FILE,
    UNSIGNED,
    VERIFIED,
    fingerprint,
    load_private_key,
    read_public_key,
    sign_model_dir,
)
from lockship.serving.linear import read_linear
from tests.core.model import test_signing as model_signing
from tests.serving import conftest as serving
from tests.serving.conftest import Server, Trained, rehash, start_server

trained = serving.trained
keys = model_signing.keys  # the same two key pairs, ours and theirs
REFUSED = "lockship serve: refusing to start"


def _sign(model_dir: Path, keys: Path, who: str = "ours") -> Path:
    sign_model_dir(model_dir, load_private_key(keys / who / "lockship.key", where="test"))
    return model_dir


@pytest.fixture
def signed(trained: Trained, keys: Path, tmp_path: Path) -> Path:
    return _sign(shutil.copytree(trained.model_dir, tmp_path / "model-dir"), keys)


def _metadata(server: Server) -> dict[str, object]:
    assert server.process.poll() is None, server.output()
    try:
        body: dict[str, object] = httpx.get(f"{server.url}/metadata", timeout=5).json()
        return body
    finally:
        server.stop()


def _refused(model_dir: Path, tmp_path: Path, *flags: str) -> str:
    """The one line a refused start prints (before lockship's own closing line)."""
    server = start_server(model_dir, tmp_path / "log", "--workers", "1", *flags)
    assert server.stop() == 1
    lines = server.output().splitlines()
    assert len(lines) == 2 and lines[1] == REFUSED and "Traceback" not in lines[0], lines
    return lines[0]


def _negate_linear(model_dir: Path) -> None:
    """The issue's attack: opposite coefficients, with package.json updated to match them."""
    linear = json.loads((model_dir / "linear.json").read_text())
    linear["coef"] = [[-value for value in row] for row in linear["coef"]]
    linear["intercept"] = [-value for value in linear["intercept"]]
    (model_dir / "linear.json").write_text(canonical_json(linear))
    fast = read_linear(model_dir / "linear.json", features=len(linear["positions"]))
    package = json.loads((model_dir / "package.json").read_text())
    names = [feature["name"] for feature in json.loads((model_dir / "metadata.json").read_text())["features"]]
    _, probabilities = fast(np.asarray([[float(package["example"][name]) for name in names]]))
    package["example_probabilities"] = probabilities[0].tolist()
    (model_dir / "package.json").write_text(json.dumps(package, indent=2, sort_keys=True))
    rehash(model_dir, "linear.json")


def _negate_model_file(model_dir: Path) -> None:
    """The same swap made inside model.skops too, every hash that names it updated: a consistent other model."""
    with zipfile.ZipFile(model_dir / "model.skops") as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    schema = json.loads(members["schema.json"])
    estimator = schema["content"]["content"]["steps"]["content"][1]["content"][1]["content"]["content"]
    for name in ("coef_", "intercept_"):
        buffer = io.BytesIO()
        np.save(buffer, -np.load(io.BytesIO(members[estimator[name]["file"]])))
        members[estimator[name]["file"]] = buffer.getvalue()
    with zipfile.ZipFile(model_dir / "model.skops", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    rehash(model_dir, "model.skops")
    package = json.loads((model_dir / "package.json").read_text())
    metadata = json.loads((model_dir / "metadata.json").read_text())
    metadata["model"]["sha256"] = package["model_sha256"]
    (model_dir / "metadata.json").write_text(json.dumps(metadata, indent=2))
    rehash(model_dir, "metadata.json")


def test_a_signed_directory_serves_as_verified(signed: Path, keys: Path, tmp_path: Path) -> None:
    public = keys / "ours" / "lockship.pub"
    server = start_server(signed, tmp_path / "log", "--workers", "1", "--public-key", str(public))
    key = fingerprint(read_public_key(str(public), where="test"))
    body = _metadata(server)
    assert (body["provenance"], body["signed_by"]) == (VERIFIED, key)
    assert f"provenance verified by {key}, smoke prediction passed" in server.output()


def test_the_key_from_the_environment_reaches_every_worker(
    signed: Path, keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCKSHIP_PUBLIC_KEY", (keys / "ours" / "lockship.pub").read_text())
    body = _metadata(start_server(signed, tmp_path / "log", "--workers", "2"))
    assert body["provenance"] == VERIFIED
    monkeypatch.setenv("LOCKSHIP_PUBLIC_KEY", (keys / "theirs" / "lockship.pub").read_text())
    assert "does not verify" in _refused(signed, tmp_path)


def test_without_a_key_provenance_is_not_claimed(trained: Trained, tmp_path: Path) -> None:
    body = _metadata(start_server(trained.model_dir, tmp_path / "log", "--workers", "1"))
    assert (body["provenance"], body["signed_by"]) == (UNSIGNED, None)


@pytest.mark.parametrize("name", ["model.skops", "linear.json", "schema.yaml", "package.json", SIGNATURE_FILE])
def test_one_byte_changed_refuses_in_one_line(signed: Path, keys: Path, tmp_path: Path, name: str) -> None:
    path = signed / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    line = _refused(signed, tmp_path, "--public-key", str(keys / "ours" / "lockship.pub"))
    assert line.startswith(f"{path}:") or f" {path} " in line


def test_another_key_an_unsigned_directory_or_an_extra_file_refuse(
    signed: Path, keys: Path, trained: Trained, tmp_path: Path
) -> None:
    ours = str(keys / "ours" / "lockship.pub")
    assert "does not verify" in _refused(_sign(signed, keys, "theirs"), tmp_path, "--public-key", ours)
    unsigned = _refused(trained.model_dir, tmp_path, "--public-key", ours)
    assert unsigned.startswith(f"{trained.model_dir / SIGNATURE_FILE}: missing: the model directory is not signed")
    _sign(signed, keys)
    (signed / "extra.json").write_text("{}")
    assert _refused(signed, tmp_path, "--public-key", ours).startswith(f"{signed}: unexpected extra.json")


def test_negated_coefficients_refuse_signed_or_not(signed: Path, keys: Path, tmp_path: Path) -> None:
    _negate_linear(signed)
    line = _refused(signed, tmp_path, "--public-key", str(keys / "ours" / "lockship.pub"))
    assert line.startswith(f"{signed / SIGNATURE_FILE}: does not verify")
    # Without a key, model.skops itself still disowns the new numbers.
    (signed / SIGNATURE_FILE).unlink()
    assert _refused(signed, tmp_path) == (
        f"{signed / 'linear.json'}: coef, intercept differ from the parameters stored in {signed / 'model.skops'}: "
        "linear.json was not derived from this model"
    )


def test_a_consistently_swapped_model_serves_only_unsigned_and_says_so(
    signed: Path, keys: Path, trained: Trained, tmp_path: Path
) -> None:
    original = json.loads((trained.model_dir / "package.json").read_text())["model_sha256"]
    _negate_linear(signed)
    _negate_model_file(signed)
    assert "does not verify" in _refused(signed, tmp_path, "--public-key", str(keys / "ours" / "lockship.pub"))
    (signed / SIGNATURE_FILE).unlink()
    body = _metadata(start_server(signed, tmp_path / "log", "--workers", "1"))
    # It serves, but under its own model hash, and without a claim of provenance.
    assert body["provenance"] == UNSIGNED and body["model_sha256"] != original
