"""The container tools that build, inspect and push the image: buildah, podman or docker buildx.

buildah is daemonless and the default on Linux; podman wraps the same library; docker needs a daemon
and is there for users who have one. Each builds with a fixed timestamp so that the same inputs give
the same image ID.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockship.core.errors import EXIT_USAGE, LockshipError

BUILDERS = ("buildah", "podman", "docker")


@dataclass(frozen=True)
class ImageFacts:
    """What the builder's store says about an image."""

    id: str  # the config digest's hex, without "sha256:"
    digest: str | None  # the manifest digest in the local store, when the builder knows it
    size: int  # bytes, uncompressed layers
    labels: Mapping[str, str] = field(default_factory=dict)


def _run(command: Sequence[str], *, what: str, env: Mapping[str, str] | None = None) -> str:
    try:
        result = subprocess.run(list(command), capture_output=True, text=True, env=env, check=False)
    except FileNotFoundError as error:
        raise LockshipError(f"{command[0]}: not installed; run scripts/install-system-packages") from error
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-6:])
        raise LockshipError(f"{command[0]}: {what} failed (exit {result.returncode}):\n{tail}")
    return result.stdout


def _missing(stderr: str) -> bool:
    text = stderr.lower()
    return any(words in text for words in ("not known", "no such image", "not found", "unknown image"))


def _hex(digest: str) -> str:
    return digest.split(":", 1)[-1]


@dataclass(frozen=True)
class Builder:
    name: str

    def build(
        self, context: Path, *, ref: str, timestamp: int, labels: Mapping[str, str], image_format: str = "oci"
    ) -> None:
        label_args = [f"--label={key}={value}" for key, value in sorted(labels.items())]
        containerfile = str(context / "Containerfile")
        if self.name == "docker":
            # BuildKit takes its timestamps from SOURCE_DATE_EPOCH and rewrites the layers' file times.
            command = ["docker", "buildx", "build", "--load", "--provenance=false", "-f", containerfile, "-t", ref]
            command += [f"--build-arg=SOURCE_DATE_EPOCH={timestamp}", *label_args, str(context)]
            env = {**os.environ, "SOURCE_DATE_EPOCH": str(timestamp)}
            _run(command, what=f"building {ref}", env=env)
            return
        # OCI format: buildah's docker format stores a random container ID and hostname in the config, so
        # its image IDs differ between stores. The price: the OCI config has no HEALTHCHECK field.
        command = [self.name, "build", "--isolation=chroot", f"--timestamp={timestamp}", f"--format={image_format}"]
        command += ["--layers", "--quiet", "-f", containerfile, "-t", ref, *label_args, str(context)]
        _run(command, what=f"building {ref}")

    def inspect(self, ref: str) -> ImageFacts | None:
        """The image `ref` in the local store, or None when there is none."""
        if self.name == "buildah":
            command = ["buildah", "inspect", "--type=image", ref]
        else:
            command = [self.name, "image", "inspect", ref]
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        except FileNotFoundError as error:
            raise LockshipError(f"{self.name}: not installed; run scripts/install-system-packages") from error
        if result.returncode != 0:
            if _missing(result.stderr):
                return None
            raise LockshipError(f"{self.name}: inspecting {ref} failed: {result.stderr.strip()[-300:]}")
        data: Any = json.loads(result.stdout)
        if self.name == "buildah":
            manifest = json.loads(data["Manifest"])
            config = data.get("OCIv1", {}).get("config") or data.get("Docker", {}).get("config") or {}
            size = sum(int(layer.get("size", 0)) for layer in manifest.get("layers", []))
            return ImageFacts(
                id=_hex(data["FromImageID"]),
                digest=data.get("FromImageDigest") or None,
                size=size,
                labels=dict(config.get("Labels") or {}),
            )
        entry = data[0]
        labels = entry.get("Labels") or entry.get("Config", {}).get("Labels") or {}
        digest = entry.get("Digest") or None
        return ImageFacts(id=_hex(entry["Id"]), digest=digest, size=int(entry.get("Size", 0)), labels=dict(labels))

    def push(self, ref: str, destination: str, *, tls_verify: bool) -> str:
        """Push `ref` to `destination` (registry/name:tag) and return the manifest digest the push reported."""
        if self.name == "docker":
            _run(["docker", "tag", ref, destination], what=f"tagging {destination}")
            _run(["docker", "push", "--quiet", destination], what=f"pushing {destination}")
            output = _run(
                ["docker", "image", "inspect", "--format={{json .RepoDigests}}", destination],
                what=f"inspecting {destination}",
            )
            repository = destination.rsplit(":", 1)[0]
            for item in json.loads(output) or []:
                if item.startswith(repository + "@"):
                    return str(item.split("@", 1)[1])
            raise LockshipError(f"docker: pushed {destination} but got no digest back")
        with tempfile.TemporaryDirectory(prefix="lockship-push-") as scratch:
            digest_file = Path(scratch) / "digest"
            command = [self.name, "push", f"--tls-verify={'true' if tls_verify else 'false'}"]
            command += [f"--digestfile={digest_file}", ref, f"docker://{destination}"]
            _run(command, what=f"pushing {ref} to {destination}")
            return digest_file.read_text(encoding="utf-8").strip()


def detect(choice: str = "auto", *, system: str | None = None) -> Builder:
    """The builder named by `choice`, or for `auto` the first installed one in this platform's order."""
    if choice != "auto":
        if choice not in BUILDERS:
            raise LockshipError(
                f"--builder: '{choice}' is not one of auto, {', '.join(BUILDERS)}", exit_code=EXIT_USAGE
            )
        if shutil.which(choice) is None:
            raise LockshipError(f"{choice}: not installed (choose another with --builder)")
        return Builder(choice)
    order = BUILDERS if (system or platform.system()) == "Linux" else ("docker", "podman", "buildah")
    for name in order:
        if shutil.which(name) is not None:
            return Builder(name)
    raise LockshipError(
        f"no container builder found: install one of {', '.join(order)} (scripts/install-system-packages)"
    )
