"""A signed image end to end: packaged with LOCKSHIP_SIGNING_KEY, run with LOCKSHIP_PUBLIC_KEY under podman."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lockship.core.model.signing import VERIFIED, fingerprint, read_public_key, write_key_pair
from lockship.packaging.build import SIGNED_BY_LABEL
from tests.conftest import run
from tests.packaging.containers import Built, built_image, container_env, http, needs_container_tools, running
from tests.packaging.test_build import PACKAGE, inspect, package_args

pytestmark = [needs_container_tools, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return built_image(tmp_path_factory)


def test_a_signed_image_serves_as_verified_and_refuses_another_key(built: Built, tmp_path: Path) -> None:
    write_key_pair(tmp_path / "ours")
    write_key_pair(tmp_path / "theirs")
    key = fingerprint(read_public_key(str(tmp_path / "ours" / "lockship.pub"), where="test"))
    # A store of its own, so the session's unsigned image keeps its tag.
    env = container_env(tmp_path / "containers") | {"LOCKSHIP_SIGNING_KEY": str(tmp_path / "ours" / "lockship.key")}
    env = built.env | env
    outputs = ["--image", str(tmp_path / "image.json"), "--build", str(tmp_path / "build.json")]
    result = run(*PACKAGE, *package_args(built.project), *outputs, cwd=built.project, env=env)
    assert result.stdout.startswith(f"package: built {built.image}") and f", model signed by {key})" in result.stdout
    signed = Built(built.project, env, built.image, built.lock_hash, {})
    labels = inspect(signed)["OCIv1"]["config"]["Labels"]  # type: ignore[index]
    assert labels[SIGNED_BY_LABEL] == key
    again = run(*PACKAGE, *package_args(built.project), *outputs, cwd=built.project, env=env)
    assert again.stdout.startswith(f"package: found {built.image}")  # same key: the signed image is reused
    ours = (tmp_path / "ours" / "lockship.pub").read_text()
    with running(signed, "-e", f"LOCKSHIP_PUBLIC_KEY={ours}", name="lockship-test-signed") as port:
        body = json.loads(http(f"http://127.0.0.1:{port}/metadata")[1])
        assert (body["provenance"], body["signed_by"]) == (VERIFIED, key)
    theirs = (tmp_path / "theirs" / "lockship.pub").read_text()
    command = ["podman", "run", "--rm", "--read-only", "--network", "none", "--no-healthcheck"]
    refused = run(*command, "-e", f"LOCKSHIP_PUBLIC_KEY={theirs}", signed.ref, cwd=built.project, env=env, check=False)
    output = (refused.stdout + refused.stderr).strip().splitlines()
    assert refused.returncode == 1 and len(output) == 2, output
    assert (
        output[0].startswith("/opt/lockship/model/package.json.sig: does not verify") and "Traceback" not in output[0]
    )
