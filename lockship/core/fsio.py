"""Writing outputs so that a failure never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lockship.core.errors import LockshipError


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and a final newline: the same value always gives the same bytes."""
    try:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError as error:  # NaN or infinity: not JSON, and a sign of a bug upstream
        raise LockshipError(f"cannot write JSON: {error}") from error


def file_digest(path: str | os.PathLike[str], algorithm: str = "md5") -> str:
    """Hex digest of a file, read in blocks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def _default_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# mkstemp creates files readable by the owner only; outputs get the mode open() would give.
_FILE_MODE = _default_file_mode()


def write_outputs(outputs: Mapping[str | os.PathLike[str], bytes | str]) -> None:
    """Write every output to a temporary file beside it, then rename them all into place.

    Nothing is renamed until everything is written, so a failure leaves the old state.
    """
    pending: list[tuple[str, Path]] = []
    try:
        for target, content in sorted(outputs.items(), key=lambda item: str(item[0])):
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode("utf-8") if isinstance(content, str) else content
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            pending.append((temporary, path))
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.chmod(temporary, _FILE_MODE)
        for temporary, path in pending:
            os.replace(temporary, path)
    except OSError as error:
        raise LockshipError(f"{error.filename or ''}: cannot write: {error.strerror}") from error
    finally:
        for temporary, _ in pending:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
