"""Push helpers: destinations, loopback TLS, and the check that the registry serves our image."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.packaging.push import destination_of, is_loopback, read_image_json, verify

IMAGE_ID = "c" * 64
MANIFEST = json.dumps({"schemaVersion": 2, "config": {"digest": f"sha256:{IMAGE_ID}"}, "layers": []}).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


def test_destinations_and_loopback() -> None:
    assert destination_of("127.0.0.1:5000", "m:abc") == "127.0.0.1:5000/m:abc"
    assert destination_of("docker://ghcr.io/acme/", "m:abc") == "ghcr.io/acme/m:abc"
    assert is_loopback("127.0.0.1:5000/m:abc") and is_loopback("localhost/m:abc")
    assert not is_loopback("ghcr.io/acme/m:abc")
    for bad in ("", "https://ghcr.io", "a b"):
        with pytest.raises(LockshipError, match="REGISTRY: expected host") as error:
            destination_of(bad, "m:abc")
        assert error.value.exit_code == 2


def test_verify_accepts_only_the_same_manifest_and_config() -> None:
    verify("r/m:t", DIGEST, IMAGE_ID, MANIFEST)
    with pytest.raises(LockshipError, match="the registry serves manifest sha256:"):
        verify("r/m:t", DIGEST, IMAGE_ID, MANIFEST + b" ")
    other = json.dumps({"config": {"digest": "sha256:" + "d" * 64}}).encode()
    with pytest.raises(LockshipError, match="holds image sha256:d"):
        verify("r/m:t", "sha256:" + hashlib.sha256(other).hexdigest(), IMAGE_ID, other)


def test_image_json_must_exist_and_be_ours(tmp_path: Path) -> None:
    with pytest.raises(LockshipError, match="run `dvc repro` to package the model first"):
        read_image_json(tmp_path / "image.json")
    (tmp_path / "image.json").write_text("{}")
    with pytest.raises(LockshipError, match=r"not a package image\.json"):
        read_image_json(tmp_path / "image.json")
    (tmp_path / "image.json").write_text('{"image": "m:abc", "lock_hash": "abc"}')
    assert read_image_json(tmp_path / "image.json") == ("m:abc", "abc")
