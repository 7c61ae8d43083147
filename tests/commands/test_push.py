"""`lockship push REGISTRY` against a real registry on 127.0.0.1 (Debian's docker-registry)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockship.commands import verify_image
from lockship.commands.push import main
from lockship.core.model.signing import write_key_pair
from tests.conftest import run
from tests.packaging.containers import Built, built_image, free_port, needs_container_tools

pytestmark = [needs_container_tools, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return built_image(tmp_path_factory)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """A registry listening on a free loopback port, storing under tmp_path, stopped afterwards."""
    if shutil.which("docker-registry") is None:
        pytest.skip("needs docker-registry (scripts/install-system-packages installs it)")
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def in_project(built: Built, monkeypatch: pytest.MonkeyPatch) -> Built:
    monkeypatch.chdir(built.project)
    for key in ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF"):
        monkeypatch.setenv(key, built.env[key])
    return built


def test_push_sends_the_image_and_verifies_the_registry_serves_it(
    in_project: Built, registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([registry]) == 0
    out = capsys.readouterr().out
    destination = f"{registry}/{in_project.image}"
    image_id = str(in_project.build["image_id"])
    assert out.startswith(f"pushed {destination}@sha256:")
    assert f"verified: the registry serves image {image_id}" in out
    pushed_digest = out.split("@", 1)[1].split()[0]
    # Read it back independently, through the registry's HTTP API.
    name, tag = in_project.image.split(":")
    request = urllib.request.Request(
        f"http://{registry}/v2/{name}/manifests/{tag}",
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        manifest = response.read()
        assert response.headers["Docker-Content-Digest"] == pushed_digest
    assert "sha256:" + hashlib.sha256(manifest).hexdigest() == pushed_digest
    assert json.loads(manifest)["config"]["digest"] == image_id
    # skopeo, as a user would, sees the same digest.
    inspected = run("skopeo", "inspect", "--tls-verify=false", f"docker://{destination}", cwd=in_project.project)
    assert json.loads(inspected.stdout)["Digest"] == pushed_digest


def test_push_without_a_packaged_image_or_registry_fails_clearly(
    in_project: Built, registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([registry, "--image", str(tmp_path / "image.json")]) == 1
    assert "run `dvc repro` to package the model first" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"image": "lockship-model:000000000000", "lock_hash": "0" * 64}))
    assert main([registry, "--image", str(other)]) == 1
    assert "no such image in buildah's store" in capsys.readouterr().err
    assert main(["https://example.invalid"]) == 2
    assert "REGISTRY: expected host" in capsys.readouterr().err


def test_push_to_a_registry_that_is_not_there_fails_without_traceback(
    in_project: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([f"127.0.0.1:{free_port()}"]) == 1
    err = capsys.readouterr().err
    assert "buildah: pushing" in err and "Traceback" not in err


def test_push_sign_uploads_a_signature_that_verify_image_accepts(
    in_project: Built, registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_key_pair(tmp_path / "keys")
    assert main([registry, "--sign", str(tmp_path / "keys" / "lockship.key")]) == 0
    out = capsys.readouterr().out
    destination = f"{registry}/{in_project.image}"
    digest = out.split("@", 1)[1].split()[0]
    assert f"signed: {destination.rsplit(':', 1)[0]}:{digest.replace(':', '-')}.sig by ed25519:" in out
    assert verify_image.main([destination, "--public-key", str(tmp_path / "keys" / "lockship.pub")]) == 0
    assert f"verified: {destination} ({digest}) signed by ed25519:" in capsys.readouterr().out
