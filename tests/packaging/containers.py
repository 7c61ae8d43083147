"""The real container tools for tests: buildah and podman configured under tmp, and one image per session.

Building the image takes a full `dvc repro` of a copy of this project, so it happens once per test
session (memoised here, whatever module asks first) and every container test shares it. The Debian
base and the wheels layer stay in lockship's user cache, keyed by content, across sessions.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import copy_project, run

TOOLS = ("buildah", "podman", "runc", "skopeo", "mmdebstrap")
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
"""

needs_container_tools = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in TOOLS),
    reason=f"needs {', '.join(TOOLS)} (scripts/install-system-packages installs them)",
)


@dataclass(frozen=True)
class Built:
    project: Path
    env: dict[str, str]  # the environment every container command of the session runs with
    image: str  # name:tag from image.json
    lock_hash: str
    build: dict[str, object]  # build.json

    @property
    def ref(self) -> str:
        return f"localhost/{self.image}"


_SESSION: dict[str, Built] = {}


def container_env(root: Path) -> dict[str, str]:
    """containers.conf and storage.conf under `root`: runc, cgroupfs, overlay storage of our own.

    The run root gets a short path of its own: conmon's sockets live there, and under pytest's long
    tmp paths they exceed the 108-byte socket limit, so podman waits 20 s for every container's exit.
    """
    root.mkdir(parents=True, exist_ok=True)
    run_root = tempfile.mkdtemp(prefix="lockship-run-")
    (root / "containers.conf").write_text(CONTAINERS_CONF)
    (root / "storage.conf").write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{root / "graph"}"\nrunroot = "{run_root}"\n'
    )
    return {"CONTAINERS_CONF": str(root / "containers.conf"), "CONTAINERS_STORAGE_CONF": str(root / "storage.conf")}


def session_env(base: Path) -> dict[str, str]:
    """The process environment for the session's commands (git/DVC isolated as in tests/conftest.py)."""
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "gitconfig").write_text("[user]\n\tname = lockship tests\n\temail = tests@lockship.invalid\n")
    env = {**os.environ, **container_env(base / "containers")}
    env |= {
        "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(home / "dvc-site-cache"),
        "DVC_GLOBAL_CONFIG_DIR": str(home / "dvc-global"),
        "DVC_SYSTEM_CONFIG_DIR": str(home / "dvc-system"),
    }
    return env


def built_image(factory: pytest.TempPathFactory) -> Built:
    """A copy of this project after a full `dvc repro`, package stage included, built with buildah."""
    if "image" not in _SESSION:
        base = factory.mktemp("image")
        env = session_env(base)
        project = copy_project(base / "project")
        # A fresh clone lacks the package stage's models/serve, so `dvc repro` runs it and builds the image;
        # were models/serve restored from a DVC cache, forcing the stage builds the image this machine lacks.
        run("dvc", "repro", cwd=project, env=env)
        if not (project / "package" / "build.json").exists():
            run("dvc", "repro", "--single-item", "--force", "package", cwd=project, env=env)
        info = json.loads((project / "package" / "image.json").read_text())
        build = json.loads((project / "package" / "build.json").read_text())
        _SESSION["image"] = Built(project, env, info["image"], info["lock_hash"], build)
    return _SESSION["image"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http(url: str, body: object | None = None, timeout: float = 5) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_ready(url: str, *, container: str, env: dict[str, str], seconds: float = 90) -> None:
    """Poll readiness until it answers 200; fail early with the logs when the container has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if http(url, timeout=1)[0] == 200:
                return
        state = run(
            "podman", "inspect", "--format", "{{.State.Running}}", container, cwd=Path("/"), env=env, check=False
        )
        if state.stdout.strip() == "false":
            break
        time.sleep(0.2)
    logs = run("podman", "logs", container, cwd=Path("/"), env=env, check=False)
    raise AssertionError(f"{container} never became ready:\n{logs.stdout}{logs.stderr}")


@contextlib.contextmanager
def running(built: Built, *args: str, name: str) -> Iterator[int]:
    """The image running with podman on the host network (read-only root), on a free port."""
    port = free_port()
    command = ["podman", "run", "-d", "--name", name, "--read-only", "--network", "host", "--no-healthcheck"]
    command += ["-e", f"PORT={port}", *args, built.ref]
    run(*command, cwd=Path("/"), env=built.env)
    try:
        wait_ready(f"http://127.0.0.1:{port}/v2/health/ready", container=name, env=built.env)
        yield port
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "2", name], env=built.env, capture_output=True, check=False)
