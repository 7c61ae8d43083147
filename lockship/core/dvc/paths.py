"""What may name a file: a recorded hash before it becomes an object path, a repo path before it is read.

dvc.lock, `.dvc` files and dvc.yaml come from whoever made the commit; what they record must not
lead outside the cache, the remote or the repository, nor into a FIFO or a device.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat

from lockship.core.errors import LockshipError
from lockship.core.fsio import file_kind

_MD5 = re.compile(r"[0-9a-f]{32}")


def is_md5(value: object, *, directory: bool = True) -> bool:
    """Whether a recorded hash can be DVC's md5, and so may name an object in a cache or remote:
    32 lowercase hex digits, plus `.dir` for a directory where `directory` allows one."""
    if not isinstance(value, str):
        return False
    return _MD5.fullmatch(value.removesuffix(".dir") if directory else value) is not None


class Refused(LockshipError):
    """A path lockship will not read: it leaves the repository, or is not a regular file or directory."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path}: {why}; lockship reads only regular files and directories inside the repository")
        self.path = path
        self.why = why


def refusal(root: str, relpath: str) -> str | None:
    """Why a repo-relative path must not be read (None when it may be, or does not exist).

    A path that leaves the repository, itself or through a symlink, could be /etc/shadow or a FIFO
    that never ends: it is neither opened nor hashed, and its hash never reaches the cache.
    """
    if posixpath.isabs(relpath) or relpath == ".." or relpath.startswith("../"):
        return "is outside the repository"
    top = os.path.realpath(root)
    real = os.path.realpath(os.path.join(root, relpath))
    if real != top and not real.startswith(top + os.sep):
        return "leads outside the repository through a symlink"
    try:
        mode = os.stat(real).st_mode
    except OSError:
        return None  # missing or unreadable: the caller reports it as such
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return f"is {file_kind(mode)}, not a regular file"
    return None
