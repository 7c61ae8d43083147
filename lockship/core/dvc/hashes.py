"""DVC 3's md5 of files and directories, remembered by (inode, size, mtime) as DVC's own state does.

A file's hash is the md5 of its bytes. A directory's is the md5 of the JSON list of its files
(`[{"md5": ..., "relpath": ...}]`, sorted by relpath, `json.dumps(..., sort_keys=True)`) plus `.dir`,
which is how dvc-data serialises a tree; files that `.dvcignore` excludes are not part of it.
`Workspace` gives a path's current hash: the recorded one for DVC outputs (pulled or not), else
the work tree's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lockship.core.dvc.paths import Refused, is_md5, refusal
from lockship.core.errors import LockshipError
from lockship.core.fsio import NotRegularFile, file_kind, open_regular, write_outputs
from lockship.core.globs import glob_regex

CACHE_PATH = os.path.join(".dvc", "tmp", "lockship-hashes.json")
_CACHE_VERSION = 1
# Directory listings kept so that a changed directory dep can name the files that changed.
_MAX_LISTINGS = 64

Ignored = Callable[[str, bool], bool]  # (repo-relative posix path, is_dir) -> excluded?
MISSING = "missing"  # neither in the work tree nor a recorded output
UNKNOWN = "unknown"  # inside a directory output whose listing is not at hand: cannot be checked


def tree_md5(entries: Mapping[str, str]) -> str:
    """The `.dir` hash of a tree given as relpath -> md5."""
    listing = [{"md5": entries[name], "relpath": name} for name in sorted(entries)]
    return hashlib.md5(json.dumps(listing, sort_keys=True).encode("utf-8")).hexdigest() + ".dir"


@dataclass
class HashCache:
    """md5 of files under `root`, reused while a file's inode, size and mtime_ns stay the same."""

    root: str
    files: dict[str, tuple[int, int, int, str]] = field(default_factory=dict)
    listings: dict[str, dict[str, str]] = field(default_factory=dict)
    hashed: int = 0
    _dirty: bool = False
    _used: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, root: str) -> HashCache:
        """The cache stored under `root`, or an empty one when it is missing or unreadable."""
        cache = cls(root)
        try:
            with open(os.path.join(root, CACHE_PATH), encoding="utf-8") as handle:
                stored = json.load(handle)
            if stored.get("version") == _CACHE_VERSION:
                cache.files = {name: tuple(entry) for name, entry in stored["files"].items()}
                cache.listings = stored.get("listings", {})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # a lost or corrupt cache only costs time: everything is hashed again
        return cache

    def save(self) -> None:
        """Write the cache atomically if it changed; a read-only checkout just goes without."""
        # Only files hashed in this run are kept, so the cache does not grow with deleted files.
        if not (self._dirty or self._used != self.files.keys()) or not os.path.isdir(os.path.join(self.root, ".dvc")):
            return
        files = {name: self.files[name] for name in sorted(self._used)}
        stored = {"version": _CACHE_VERSION, "files": files, "listings": self.listings}
        with contextlib.suppress(LockshipError):
            write_outputs({os.path.join(self.root, CACHE_PATH): json.dumps(stored, separators=(",", ":"))})
        self._dirty = False

    def file_md5(self, relpath: str, status: os.stat_result | None = None) -> str:
        """md5 of a file given by its repo-relative path; raises Refused for a FIFO or a device, OSError when
        it cannot be read."""
        path = os.path.join(self.root, relpath)
        status = status or os.stat(path)
        if not stat.S_ISREG(status.st_mode):
            raise Refused(relpath, f"is {file_kind(status.st_mode)}, not a regular file")
        known = self.files.get(relpath)
        self._used.add(relpath)
        key = (status.st_ino, status.st_size, status.st_mtime_ns)
        if known is not None and known[:3] == key:
            return known[3]
        try:
            with open_regular(path) as handle:
                digest = hashlib.file_digest(handle, "md5").hexdigest()
        except NotRegularFile as error:  # swapped since the stat
            raise Refused(relpath, str(error.strerror)) from None
        self.hashed += 1
        self.files[relpath] = (*key, digest)
        self._dirty = True
        return digest

    def dir_entries(self, relpath: str, ignored: Ignored) -> dict[str, str]:
        """relpath (inside the directory) -> md5 of every file under a directory that DVC would hash."""
        entries: dict[str, str] = {}
        pending = [relpath]
        start = os.stat(os.path.join(self.root, relpath))
        walked = {(start.st_dev, start.st_ino)}
        while pending:
            current = pending.pop()
            with os.scandir(os.path.join(self.root, current)) as scan:
                for item in scan:
                    child = f"{current}/{item.name}"
                    is_dir = item.is_dir()
                    if ignored(child, is_dir):
                        continue
                    why = refusal(self.root, child) if item.is_symlink() else None
                    if why:
                        raise Refused(child, why)
                    status = item.stat()
                    if is_dir:
                        if (status.st_dev, status.st_ino) in walked:
                            raise Refused(child, "is a directory walked already (a symlink loop)")
                        walked.add((status.st_dev, status.st_ino))
                        pending.append(child)
                    else:
                        entries[child[len(relpath) + 1 :]] = self.file_md5(child, status)
        return entries

    def listing(self, md5: str) -> dict[str, str] | None:
        """The files of a `.dir` hash: remembered from an earlier run, or read from DVC's cache if pulled."""
        if md5 in self.listings:
            return self.listings[md5]
        if not md5.endswith(".dir") or not is_md5(md5):
            return None
        try:
            with open(os.path.join(self.root, ".dvc", "cache", "files", "md5", md5[:2], md5[2:]), "rb") as handle:
                return {str(entry["relpath"]): str(entry["md5"]) for entry in json.load(handle)}
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def remember_listing(self, md5: str, entries: Mapping[str, str]) -> None:
        if md5 in self.listings:
            return
        while len(self.listings) >= _MAX_LISTINGS:
            del self.listings[next(iter(self.listings))]
        self.listings[md5] = dict(entries)
        self._dirty = True


def describe_tree_change(old: Mapping[str, str], new: Mapping[str, str], limit: int = 3) -> str:
    """`a.py modified, b.py added` for two listings of a directory, at most `limit` names."""
    changes = [f"{name} modified" for name in sorted(old.keys() & new.keys()) if old[name] != new[name]]
    changes += [f"{name} added" for name in sorted(new.keys() - old.keys())]
    changes += [f"{name} deleted" for name in sorted(old.keys() - new.keys())]
    more = f", {len(changes) - limit} more" if len(changes) > limit else ""
    return ", ".join(changes[:limit]) + more


@dataclass(frozen=True)
class IgnoreRules:
    """`.dvcignore` (gitignore syntax) of the repository root, plus DVC's own `.git/`, `.hg/` and `.dvc/`."""

    rules: tuple[tuple[re.Pattern[str], bool, bool], ...]  # (regex, negated, directories only)

    @classmethod
    def load(cls, root: str) -> IgnoreRules:
        lines = [".git", ".hg/", ".dvc/"]
        why = refusal(root, ".dvcignore")
        if why:
            raise Refused(".dvcignore", why)
        with contextlib.suppress(FileNotFoundError), open_regular(os.path.join(root, ".dvcignore")) as handle:
            lines += handle.read().decode("utf-8", "replace").splitlines()
        rules = []
        for raw in lines:
            line = raw.rstrip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            line = line[1:] if negated else line.removeprefix("\\")
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            anchored = "/" in line
            body = glob_regex(line.lstrip("/"))
            regex = ("^" if anchored else "^(?:.*/)?") + body + "$"
            rules.append((re.compile(regex), negated, dir_only))
        return cls(tuple(rules))

    def __call__(self, relpath: str, is_dir: bool) -> bool:
        """Whether DVC ignores this repo-relative path (its parents are the caller's business)."""
        ignored = False
        for regex, negated, dir_only in self.rules:
            if (is_dir or not dir_only) and regex.match(relpath):
                ignored = not negated
        return ignored

    def covers(self, relpath: str, is_dir: bool) -> bool:
        """Whether the path or any directory above it is ignored."""
        parts = relpath.split("/")
        return any(self("/".join(parts[:i]), True) for i in range(1, len(parts))) or self(relpath, is_dir)


@dataclass
class Workspace:
    """Current hashes: as recorded for outputs (pulled or not), from the work tree for everything else."""

    root: str
    cache: HashCache
    ignored: IgnoreRules
    recorded: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def md5(self, path: str) -> tuple[str, str]:
        """(md5 or MISSING/UNKNOWN, what it was taken from) for a repo-relative path."""
        if path in self.recorded:
            return self.recorded[path]
        return self.inside_output(path) or self.work_tree(path)

    def overlapping(self, path: str) -> dict[str, str]:
        """Recorded output -> its md5, for every output inside `path` or holding it."""
        return {
            out: md5
            for out, (md5, _) in self.recorded.items()
            if out.startswith(path + "/") or path.startswith(out + "/")
        }

    def inside_output(self, path: str) -> tuple[str, str] | None:
        for out, (md5, origin) in self.recorded.items():
            if path.startswith(out + "/"):
                listing = self.cache.listing(md5)
                if listing is None:
                    return UNKNOWN, origin
                inner = path[len(out) + 1 :]
                return listing.get(inner, MISSING), origin
        return None

    def work_tree(self, path: str) -> tuple[str, str]:
        """The hash of a path from the work tree; raises Refused for one that must not be read."""
        why = refusal(self.root, path)
        if why:
            raise Refused(path, why)
        full = os.path.join(self.root, path)
        if os.path.isdir(full):
            return self._tree(path), "work tree"
        try:
            return self.cache.file_md5(path), "work tree"
        except (FileNotFoundError, NotADirectoryError):
            # A directory that holds only outputs (none committed to git) is absent from a clone:
            # it is those outputs, as recorded.
            if not os.path.lexists(full) and any(out.startswith(path + "/") for out in self.recorded):
                return self._tree(path, present=False), "work tree"
            return MISSING, "work tree"
        except OSError as error:
            raise LockshipError(f"{path}: cannot read: {error.strerror}") from error

    def _tree(self, path: str, *, present: bool = True) -> str:
        entries = self.cache.dir_entries(path, self.ignored) if present else {}
        # Outputs inside the directory count as recorded, whether or not they were pulled.
        for out, (md5, _) in self.recorded.items():
            if not out.startswith(path + "/"):
                continue
            inner = out[len(path) + 1 :]
            if md5.endswith(".dir"):
                listing = self.cache.listing(md5)
                if listing is None:
                    if not any(name.startswith(inner + "/") for name in entries):
                        return UNKNOWN
                    continue
                entries = {k: v for k, v in entries.items() if not k.startswith(inner + "/")}
                entries.update({f"{inner}/{name}": value for name, value in listing.items()})
            else:
                entries[inner] = md5
        md5 = tree_md5(entries)
        self.cache.remember_listing(md5, entries)
        return md5
