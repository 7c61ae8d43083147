"""Image signatures in the sigstore format, made and checked against a real registry on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockship.commands import verify_image
from lockship.core.model.signing import fingerprint, load_private_key, write_key_pair
from lockship.packaging.imagesign import PAYLOAD_TYPE, SIGNATURE_ANNOTATION, Reference, payload, sign_image
from lockship.packaging.push import remote_manifest
from tests.commands import test_push
from tests.conftest import run
from tests.packaging.containers import container_env, needs_container_tools

pytestmark = [needs_container_tools, pytest.mark.timeout(300)]
# The real docker-registry on a free loopback port that the push tests use.
registry = test_push.registry


@pytest.fixture
def image(registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A one-file image pushed to the registry as `tiny:1`, and the same manifest as `tiny:other`."""
    for key, value in container_env(tmp_path / "containers").items():
        monkeypatch.setenv(key, value)
    # vfs: overlay storage stays mounted after the test, and one small layer needs no speed.
    storage = tmp_path / "containers" / "storage.conf"
    storage.write_text(storage.read_text().replace('driver = "overlay"', 'driver = "vfs"'))
    (tmp_path / "hello.txt").write_text("hello\n")
    container = run("buildah", "from", "scratch", cwd=tmp_path).stdout.strip()
    run("buildah", "add", container, "hello.txt", "/", cwd=tmp_path)
    run("buildah", "commit", "--quiet", "--format", "oci", container, "localhost/tiny:1", cwd=tmp_path)
    run("buildah", "rm", container, cwd=tmp_path)
    copy = ["skopeo", "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false"]
    run(*copy, "containers-storage:localhost/tiny:1", f"docker://{registry}/tiny:1", cwd=tmp_path)
    run(*copy, "--src-tls-verify=false", f"docker://{registry}/tiny:1", f"docker://{registry}/tiny:other", cwd=tmp_path)
    yield f"{registry}/tiny:1"


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    write_key_pair(tmp_path / "ours")
    write_key_pair(tmp_path / "theirs")
    return tmp_path


def _sign(image: str, keys: Path, who: str = "ours") -> str:
    digest = "sha256:" + hashlib.sha256(remote_manifest(image, tls_verify=False)).hexdigest()
    return sign_image(image, digest, load_private_key(keys / who / "lockship.key", where="test"), tls_verify=False)


def _verify(reference: str, keys: Path, capsys: pytest.CaptureFixture[str], who: str = "ours") -> tuple[int, str]:
    code = verify_image.main([reference, "--public-key", str(keys / who / "lockship.pub")])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, (captured.out + captured.err).strip()


def test_a_signed_image_verifies_by_tag_and_by_digest(
    image: str, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signature = _sign(image, keys)
    digest = "sha256:" + signature.rsplit(":sha256-", 1)[1].removesuffix(".sig")
    key = fingerprint(load_private_key(keys / "ours" / "lockship.key", where="test").public_key())
    assert _verify(image, keys, capsys) == (0, f"verified: {image} ({digest}) signed by {key} as {image}")
    by_digest = f"{Reference.parse(image).repository}@{digest}"
    assert _verify(by_digest, keys, capsys)[0] == 0
    # The artifact is cosign's: one simple-signing layer whose blob is the payload, the signature annotated.
    artifact = json.loads(remote_manifest(signature, tls_verify=False))
    assert [layer["mediaType"] for layer in artifact["layers"]] == [PAYLOAD_TYPE]
    assert SIGNATURE_ANNOTATION in artifact["layers"][0]["annotations"]
    assert artifact["layers"][0]["size"] == len(payload(image, digest))


def test_unsigned_another_key_or_another_name_fail(image: str, keys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _verify(image, keys, capsys)
    assert code == 1 and output.startswith(f"{image}: not signed (no signature at ")
    _sign(image, keys, "theirs")
    code, output = _verify(image, keys, capsys)
    assert code == 1 and "verifies with public key" in output
    _sign(image, keys)
    other = image.replace(":1", ":other")  # the same manifest, pushed under a name the signer did not sign
    code, output = _verify(other, keys, capsys)
    assert code == 1 and output.endswith(f" as {image}, not as {other}")


def test_bad_references_and_missing_keys_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert verify_image.main(["tiny", "--public-key", "x"]) == 2
    assert "expected host[:port]/name:tag" in capsys.readouterr().err
    assert verify_image.main(["127.0.0.1:1/tiny:1", "--public-key", ""]) == 2
    assert "--public-key: required" in capsys.readouterr().err
