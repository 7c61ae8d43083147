"""The Containerfile of the serving image, and its OCI labels."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from lockship.packaging.layers import APP_DIR, MODEL_DIR, SITE_DIR

USER = "10001:10001"
PORT = 8000
# No curl in the image: the healthcheck is a few lines of the image's own Python.
HEALTHCHECK = (
    "import os, urllib.request; "
    "urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/v2/health/ready\", timeout=2)"
)


@dataclass(frozen=True)
class ImageSpec:
    base_image: str  # "scratch" when the rootfs is added from base.tar
    add_rootfs: bool
    port: int = PORT


def containerfile(spec: ImageSpec) -> str:
    """Layers: base (rootfs or registry image), runtime wheels, then app and model (changes most often)."""
    lines = [f"FROM {spec.base_image}"]
    if spec.add_rootfs:
        lines.append("ADD base.tar /")
    environment = {
        "PYTHONPATH": f"/{SITE_DIR}:/{APP_DIR}",
        # The root filesystem may be read-only: no bytecode written, home and temp files under /tmp.
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PORT": str(spec.port),
    }
    lines += [
        "ADD site.tar /",
        "ADD bytecode.tar /",
        "ADD app.tar /",
        "ENV " + " ".join(f"{key}={value}" for key, value in environment.items()),
        f"USER {USER}",
        "WORKDIR /tmp",
        f"EXPOSE {spec.port}",
        "HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD "
        + json.dumps(["python3", "-c", HEALTHCHECK]),
        "CMD " + json.dumps(["python3", "-m", "lockship", "serve", f"/{MODEL_DIR}", "--host", "0.0.0.0"]),
    ]
    return "\n".join(lines) + "\n"


def labels(
    *,
    lock_hash: str,
    created: str,
    title: str,
    metrics: Mapping[str, float],
) -> dict[str, str]:
    """OCI annotations plus lockship's own: the lock hash and each metric of the packaged model.

    No revision or source: the lock hash does not determine them, and the image must be the same at every
    commit that leaves the lock unchanged. `git log -S <lock hash> -- package/image.json` finds the commit.
    """
    found = {
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.version": lock_hash[:12],
        "dev.lockship.lock-hash": lock_hash,
        "dev.lockship.metrics": json.dumps(dict(metrics), sort_keys=True, separators=(",", ":")),
    }
    for name, value in sorted(metrics.items()):
        found[f"dev.lockship.metric.{name}"] = repr(value)
    return found
