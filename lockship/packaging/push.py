"""Push the packaged image to a registry, then read the manifest back and check it is the same image."""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockship.core.errors import EXIT_USAGE, LockshipError
from lockship.packaging.build import LOCK_HASH_LABEL, local_ref
from lockship.packaging.builders import Builder

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class Pushed:
    destination: str
    digest: str
    image_id: str


def read_image_json(path: Path) -> tuple[str, str]:
    """(name:tag, lock hash) from the package stage's image.json."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        image, lock_hash = str(data["image"]), str(data["lock_hash"])
    except FileNotFoundError as error:
        raise LockshipError(f"{path}: file not found; run `dvc repro` to package the model first") from error
    except (ValueError, KeyError, TypeError) as error:
        raise LockshipError(f"{path}: not a package image.json ({error})") from error
    return image, lock_hash


def destination_of(registry: str, image: str) -> str:
    """`registry/name:tag`; the registry is a host[:port], optionally with a path (`ghcr.io/org`)."""
    registry = registry.removeprefix("docker://").rstrip("/")
    if not registry or "://" in registry or any(c.isspace() for c in registry):
        raise LockshipError(f"REGISTRY: expected host[:port][/path], got {registry!r}", exit_code=EXIT_USAGE)
    return f"{registry}/{image}"


def is_loopback(destination: str) -> bool:
    host = destination.split("/", 1)[0]
    return host.rsplit(":", 1)[0] in LOOPBACK if not host.startswith("[") else host.startswith("[::1]")


def remote_manifest(destination: str, *, tls_verify: bool) -> bytes:
    """The manifest exactly as the registry serves it (skopeo speaks the registry API and its auth)."""
    command = ["skopeo", "inspect", "--raw", f"--tls-verify={'true' if tls_verify else 'false'}"]
    try:
        result = subprocess.run([*command, f"docker://{destination}"], capture_output=True, check=False)
    except FileNotFoundError as error:
        raise LockshipError("skopeo: not installed; run scripts/install-system-packages") from error
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()[-300:]
        raise LockshipError(f"{destination}: cannot read the pushed manifest back: {message}")
    return result.stdout


def verify(destination: str, digest: str, image_id: str, manifest: bytes) -> None:
    """The registry's manifest must hash to the pushed digest and name our image's config."""
    actual = "sha256:" + hashlib.sha256(manifest).hexdigest()
    if actual != digest:
        raise LockshipError(f"{destination}: the registry serves manifest {actual}, the push reported {digest}")
    try:
        config = json.loads(manifest)["config"]["digest"]
    except (ValueError, KeyError, TypeError) as error:
        raise LockshipError(f"{destination}: the registry's manifest has no config digest ({error})") from error
    if config != f"sha256:{image_id}":
        raise LockshipError(f"{destination}: the registry holds image {config}, not the local sha256:{image_id}")


def push(image_json: Path, registry: str, *, builder: Builder, tls_verify: bool | None = None) -> Pushed:
    image, lock_hash = read_image_json(image_json)
    facts = builder.inspect(local_ref(builder, image))
    if facts is None:
        raise LockshipError(f"{image}: no such image in {builder.name}'s store; run `dvc repro` to build it")
    if facts.labels.get(LOCK_HASH_LABEL) != lock_hash:
        raise LockshipError(f"{image}: its lock-hash label is not {lock_hash} from {image_json}; rebuild it")
    destination = destination_of(registry, image)
    verify_tls = not is_loopback(destination) if tls_verify is None else tls_verify
    digest = builder.push(local_ref(builder, image), destination, tls_verify=verify_tls)
    verify(destination, digest, facts.id, remote_manifest(destination, tls_verify=verify_tls))
    return Pushed(destination=destination, digest=digest, image_id=facts.id)
