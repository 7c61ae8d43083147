"""The image's own layers, as deterministic tars: the runtime wheels, and the app with its model.

The wheels layer is a pure function of the runtime lock, so it is cached under that text's sha256.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from lockship.core.errors import LockshipError
from lockship.core.fsio import file_digest
from lockship.core.model.directory import MODEL_FILE
from lockship.packaging.tarball import tree_files, write_tar

SITE_DIR = "opt/lockship/site"
APP_DIR = "opt/lockship/app"
MODEL_DIR = "opt/lockship/model"
LAYER_FORMAT = "3"  # bump when what goes into the wheels layer changes
# Wheels the image's Debian CPython 3.11 on x86-64 can load (bookworm has glibc 2.36).
PIP_TARGET = (
    "--python-version=3.11",
    "--implementation=cp",
    "--abi=cp311",
    "--abi=abi3",
    "--abi=none",
    *(f"--platform=manylinux_2_{minor}_x86_64" for minor in range(36, 16, -1)),
    "--platform=manylinux2014_x86_64",
    "--platform=any",
)
# Never imported at run time; `bin` holds console scripts whose shebangs name this machine's Python.
PRUNED = ("tests", "__pycache__")
# Type stubs and C sources and headers: for type checkers and compilers, neither of which is in the image.
PRUNED_SUFFIXES = (".pyi", ".pxd", ".pyx", ".c", ".cpp", ".h", ".hpp")
# How many layers of each kind the cache keeps (each site tree is about 400 MB, each bytecode tar 40 MB).
CACHE_KEEP = {"site": 3, "bytecode": 6}
# The package code the serving app imports (a test follows its imports); the rest (stages, hooks,
# packaging, the core modules only they use) stays out of the image, so changing it keeps the tag.
APP_CODE = (
    "lockship/__init__.py",
    "lockship/__main__.py",
    "lockship/cli.py",
    "lockship/modelfile.py",
    "lockship/core/__init__.py",
    "lockship/core/errors.py",
    "lockship/core/fsio.py",
    "lockship/core/jsonfields.py",
    "lockship/core/numerics.py",
    "lockship/core/params.py",
    "lockship/core/yamlio.py",
    "lockship/core/yamlcompose.py",
    "lockship/core/data/__init__.py",
    "lockship/core/data/schema.py",
    "lockship/core/model/__init__.py",
    "lockship/core/model/directory.py",
    "lockship/core/model/info.py",
    "lockship/core/model/signing.py",
    "lockship/serving",
    "lockship/commands/__init__.py",
    "lockship/commands/serve.py",
)


def _strip_extensions(site: Path) -> None:
    """Drop the symbol tables of the wheels' extension modules (tens of MB).

    The vendored libraries in `*.libs` are left alone: auditwheel rewrote them with patchelf, and
    stripping such a file breaks it ("ELF load command address/offset not page-aligned").
    """
    strip = shutil.which("strip")
    if strip is None:
        return
    modules = sorted(str(path) for path in site.rglob("*.so") if not any(part.endswith(".libs") for part in path.parts))
    for start in range(0, len(modules), 200):
        subprocess.run([strip, "--strip-unneeded", *modules[start : start + 200]], capture_output=True, check=False)


def site_layer(requirements: str, *, cache: Path) -> tuple[Path, Path]:
    """The runtime wheels installed for /opt/lockship/site: (the tree, its layer tar), built once per runtime lock."""
    key = hashlib.sha256((LAYER_FORMAT + "\n" + requirements).encode("utf-8")).hexdigest()
    final = cache / "site" / key
    if (final / "site.tar").is_file():
        os.utime(final)  # most recently used: kept by prune_cache
        return final / "site", final / "site.tar"
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=final.parent, prefix=".build-") as scratch:
        lock = Path(scratch) / "requirements.txt"
        lock.write_text(requirements, encoding="utf-8")
        site = Path(scratch) / "site"
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--require-hashes",
            "--only-binary=:all:",
            "--no-compile",
            f"--target={site}",
            *PIP_TARGET,
            "-r",
            str(lock),
        ]
        # Wheels only and no build step, so no compiler is needed here or in the image.
        env = {**os.environ, "PIP_NO_INPUT": "1"}
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            lines = [line for line in result.stderr.splitlines() if not line.startswith("WARNING: Location")]
            raise LockshipError(f"pip: installing the runtime wheels failed:\n{chr(10).join(lines[-8:])}")
        shutil.rmtree(site / "bin", ignore_errors=True)
        for directory in sorted(site.rglob("*"), reverse=True):
            if directory.is_dir() and directory.name in PRUNED:
                shutil.rmtree(directory, ignore_errors=True)
        for file in site.rglob("*"):
            if file.suffix in PRUNED_SUFFIXES and file.is_file():
                file.unlink()
        _strip_extensions(site)
        write_tar(Path(scratch) / "site.tar", tree_files(site, SITE_DIR))
        Path(scratch, "done").mkdir()
        os.replace(site, Path(scratch, "done", "site"))
        os.replace(Path(scratch) / "site.tar", Path(scratch, "done", "site.tar"))
        if final.exists():
            shutil.rmtree(final)
        os.replace(Path(scratch, "done"), final)
    return final / "site", final / "site.tar"


def app_sources(root: Path) -> dict[str, Path]:
    """The serving code's files by their name in the image."""
    files: dict[str, Path] = {}
    for name in APP_CODE:
        source = root / name
        if source.is_dir():
            files.update(tree_files(source, f"{APP_DIR}/{name}", skip=PRUNED))
        elif source.is_file():
            files[f"{APP_DIR}/{name}"] = source
        else:
            raise LockshipError(f"{name}: serving code not found")
    return {name: path for name, path in files.items() if not name.endswith(".pyc")}


def bytecode_layer(site: Path, root: Path, model_dir: Path, *, cache: Path) -> Path:
    """A tar of the start-up modules' bytecode (wheels and serving code), cached per site, code and model."""
    from lockship.packaging.bytecode import STARTUP_IMPORTS, compile_modules, startup_modules

    code = app_sources(root)
    model = file_digest(model_dir / MODEL_FILE, "sha256")
    digest = hashlib.sha256(f"{site}\n{STARTUP_IMPORTS}\n{model}\n".encode())
    for name, path in sorted(code.items()):
        digest.update(f"{name}\0{file_digest(path, 'sha256')}\n".encode())
    target = cache / "bytecode" / f"{digest.hexdigest()}.tar"
    if target.is_file():
        os.utime(target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    by_source = {path.resolve(): PurePosixPath("/", name) for name, path in code.items()}
    pairs = []
    for module in startup_modules(site, root, model_dir, cache=cache):
        if module.is_relative_to(site):
            pairs.append((module, PurePosixPath("/", SITE_DIR, module.relative_to(site).as_posix())))
        elif module.resolve() in by_source:
            pairs.append((module, by_source[module.resolve()]))
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as scratch:
        compiled = compile_modules(pairs, Path(scratch), cache=cache)
        write_tar(Path(scratch) / "layer.tar", dict(compiled))
        os.replace(Path(scratch) / "layer.tar", target)
    return target


def app_layer(target: Path, *, root: Path, model_dir: Path) -> None:
    """A tar of lockship's serving code and the model directory."""
    files: dict[str, Path | bytes] = dict(app_sources(root))
    files.update(tree_files(model_dir, MODEL_DIR))
    write_tar(target, files)


def prune_cache(cache: Path, keep: Mapping[str, int] = CACHE_KEEP) -> None:
    """Keep the most recently used layers of each kind: every lock or serving-code change adds one (tens of MB)."""
    for kind, count in keep.items():
        entries = [path for path in (cache / kind).glob("*") if not path.name.startswith(".")]
        entries.sort(key=_last_used, reverse=True)
        for stale in entries[count:]:
            # Another build may be pruning the same cache: what is already gone is fine.
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


def _last_used(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
