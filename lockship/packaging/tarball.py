"""Deterministic tar layers: sorted names, fixed owner and mtime, normalised modes.

The image's layers are made here rather than by the builder's COPY so that the same inputs give the
same layer bytes on any machine, whatever the files' mtimes, owners or umask.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

# 2000-01-01: any fixed time; the image's time and its base's (base.SOURCE_DATE_EPOCH) are this one.
MTIME = 946684800


def _info(name: str, *, directory: bool = False, executable: bool = False, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if directory:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.mode = 0o755 if executable else 0o644
        info.size = size
    return info


def _parents(names: Iterable[str]) -> list[str]:
    found: set[str] = set()
    for name in names:
        found.update(str(parent) for parent in PurePosixPath(name).parents if str(parent) != ".")
    return sorted(found)


def write_tar(target: str | os.PathLike[str], files: Mapping[str, Path | bytes]) -> None:
    """Write `files` (archive name -> source file or bytes) with every parent directory, in sorted order."""
    names = sorted(files)
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as archive:
        for directory in _parents(names):
            archive.addfile(_info(directory, directory=True))
        for name in names:
            source = files[name]
            if isinstance(source, bytes):
                archive.addfile(_info(name, size=len(source)), io.BytesIO(source))
                continue
            if source.is_symlink():
                link = _info(name)
                link.type = tarfile.SYMTYPE
                link.linkname = os.readlink(source)
                link.mode = 0o777
                archive.addfile(link)
                continue
            executable = bool(source.stat().st_mode & 0o111)
            with open(source, "rb") as handle:
                archive.addfile(_info(name, executable=executable, size=source.stat().st_size), handle)


def tree_files(root: Path, prefix: str, *, skip: Iterable[str] = ()) -> dict[str, Path]:
    """Every file (and symlink) under `root`, named `prefix/relative`, without the `skip` directory names."""
    skipped = set(skip)
    found: dict[str, Path] = {}
    for directory, subdirectories, filenames in os.walk(root):
        subdirectories[:] = sorted(name for name in subdirectories if name not in skipped)
        for subdirectory in subdirectories:
            if os.path.islink(os.path.join(directory, subdirectory)):
                found[_name(root, prefix, Path(directory, subdirectory))] = Path(directory, subdirectory)
        for filename in filenames:
            path = Path(directory, filename)
            found[_name(root, prefix, path)] = path
    return found


def _name(root: Path, prefix: str, path: Path) -> str:
    return str(PurePosixPath(prefix, path.relative_to(root).as_posix()))
