"""Bytecode for the modules the app imports at start-up, compiled reproducibly.

The image's root filesystem may be read-only, so Python cannot cache bytecode at run time; without it
every start recompiles what it imports (seconds, for scikit-learn). Compiling every module would
cost tens of MB, so only the modules a start-up imports are compiled: unchecked-hash pycs (no source
mtimes), with the path they will have in the image, and a fixed hash seed, so the bytes are the same
on every build.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from lockship.core.errors import LockshipError

# What a start-up imports beyond the serving code itself; what the model needs (scikit-learn, or only
# numpy for a linear fast path) is found by loading it as the server does.
STARTUP_IMPORTS = (
    "lockship.commands.serve",
    "lockship.serving.app",
    "uvicorn.main",
    "uvicorn.server",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.auto",
    "uvicorn.loops.uvloop",
    "uvicorn.lifespan.on",
    "uvicorn.supervisors.multiprocess",
)

_LIST_MODULES = """
import importlib, sys
paths = sys.argv[1:3]
sys.path[:0] = paths
for name in sys.argv[4:]:
    importlib.import_module(name)
from lockship.core.model.directory import read_model_dir
from lockship.serving.predictor import smoke_test
from lockship.serving.service import load_predictor
model_dir = read_model_dir(sys.argv[3])
smoke_test(load_predictor(model_dir), model_dir)
for module in list(sys.modules.values()):
    name = getattr(module, "__file__", None) or ""
    if name.endswith(".py") and name.startswith(tuple(path + "/" for path in paths)):
        print(name)
"""

_COMPILE = """
import py_compile, sys
for line in sys.stdin.read().splitlines():
    source, target, shown = line.split("\\t")
    py_compile.compile(source, cfile=target, dfile=shown, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
"""


def _python(code: str, args: Sequence[str], *, stdin: str = "", cache: Path) -> str:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONHASHSEED": "0",
        "PYTHONPYCACHEPREFIX": str(cache / "host-pycache"),
        "LC_ALL": "C.UTF-8",
    }
    result = subprocess.run(
        [sys.executable, "-S", "-c", code, *args], input=stdin, capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise LockshipError(f"bytecode: importing or compiling the serving code failed:\n{tail}")
    return result.stdout


def startup_modules(
    site: Path, app: Path, model_dir: Path, *, cache: Path, imports: Iterable[str] = STARTUP_IMPORTS
) -> list[Path]:
    """The source files of every module loaded from `site` or `app` by importing `imports`, then loading
    the model of `model_dir` and running the smoke prediction, as the server starts; sorted."""
    output = _python(_LIST_MODULES, [str(site), str(app), str(model_dir), *imports], cache=cache)
    return sorted({Path(line) for line in output.splitlines() if line})


def pyc_name(source: PurePosixPath) -> PurePosixPath:
    tag = sys.implementation.cache_tag
    return source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"


def compile_modules(sources: Iterable[tuple[Path, PurePosixPath]], target: Path, *, cache: Path) -> dict[str, Path]:
    """Compile (host file, path in the image) pairs into `target`; return image name -> pyc file."""
    if sys.version_info[:2] != (3, 11):
        raise LockshipError(f"bytecode: the image runs Python 3.11; this is {sys.version.split()[0]}")
    lines, found = [], {}
    for source, shown in sorted(sources, key=lambda pair: str(pair[1])):
        name = pyc_name(shown)
        output = target / hashlib.sha256(str(name).encode()).hexdigest()
        lines.append(f"{source}\t{output}\t{shown}")
        found[str(name).lstrip("/")] = output
    _python(_COMPILE, [], stdin="\n".join(lines), cache=cache)
    return found
