"""Writing outputs so that a failure never leaves a half-written file behind; reading regular files only."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import stat
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
    """Hex digest of a regular file, read in blocks."""
    with open_regular(path) as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


class NotRegularFile(OSError):
    """A FIFO, a device or a socket where a file was expected: reading it could block or never end."""


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def file_kind(mode: int) -> str:
    """`a FIFO`, `a character device`... for an `st_mode` that is not a regular file's."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _not_regular(path: str | os.PathLike[str], mode: int) -> OSError:
    if stat.S_ISDIR(mode):
        return IsADirectoryError(errno.EISDIR, "Is a directory", os.fspath(path))
    return NotRegularFile(errno.EINVAL, f"is {file_kind(mode)}, not a regular file", os.fspath(path))


def open_regular(path: str | os.PathLike[str]) -> io.BufferedReader:
    """Open a regular file for reading; anything else raises (IsADirectoryError, NotRegularFile) unread.

    The type is checked before opening, so a FIFO or a device is never opened, and again on the open
    descriptor (opened non-blocking), in case the path was swapped in between.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise _not_regular(path, mode)
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _default_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# mkstemp creates files readable by the owner only; outputs get the mode open() would give.
_FILE_MODE = _default_file_mode()


def write_outputs(outputs: Mapping[str | os.PathLike[str], bytes | str]) -> None:
    """Write every output to a temporary file beside it, then rename them all into place.

    Nothing is renamed until everything is written, so a failure leaves the old state. A run killed
    between the renames leaves temporaries; the next write of the same outputs removes them.
    """
    pending: list[tuple[str, Path]] = []
    try:
        for target, content in sorted(outputs.items(), key=lambda item: str(item[0])):
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_temporaries(path)
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


def _remove_stale_temporaries(path: Path) -> None:
    # Named as mkstemp names ours below: the prefix, 8 random characters, the suffix.
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp")
    with os.scandir(path.parent) as scan:
        for entry in scan:
            if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
