"""What git history tells about outputs whose content is not at hand (a clone without `dvc pull`).

A dep that holds another stage's directory output (`runs/` holding `runs/x/`), or a file inside one
(`runs/x/a.txt`), hashes to what that output holds; without its `.dir` listing (from DVC's cache)
that hash cannot be recomputed. History can still settle it: the commit that gave the consumer's
lock entry its current hash is when the consumer was locked, and every output then recorded inside
the dep, plus the git-tracked files under it, must be as they are now. An output re-recorded since
means the dep changed; for a file inside an output, only when that output held that one file.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lockship.core.dvc.files import parse_dvc_yaml
from lockship.core.errors import LockshipError
from lockship.core.git.repo import git_ok, run_git


@dataclass(frozen=True)
class Source:
    """Where an output's hash is recorded: a dvc.lock stage's outs, or a `.dvc` file's."""

    file: str  # relative to the DVC project's root
    stage: str | None  # None for a `.dvc` file
    key: str  # the out's `path` as written there

    def __str__(self) -> str:
        return f"{self.file} (outs of '{self.stage}')" if self.stage else self.file


Verdict = Literal["same", "changed", "unknown"]


@dataclass
class History:
    """git history of the DVC project at `root`, read lazily: nothing runs until a question needs it."""

    root: str
    _prefix: str | None = None
    _shallow: frozenset[str] | None = None
    _commits: dict[str, list[str]] = field(default_factory=dict)
    _documents: dict[tuple[str, str], Any] = field(default_factory=dict)

    def _path(self, relpath: str) -> str:
        if self._prefix is None:
            self._prefix = git_ok("rev-parse", "--show-prefix", cwd=self.root) or ""
        return posixpath.join(self._prefix, relpath)

    def _data(self, commit: str, relpath: str) -> Any:
        """A dvc.lock or `.dvc` file's data at a commit (None when absent or unreadable there)."""
        key = (commit, relpath)
        if key not in self._documents:
            shown = run_git("show", f"{commit}:{self._path(relpath)}", cwd=self.root)
            data = None
            if shown.returncode == 0:
                with contextlib.suppress(LockshipError):
                    data = parse_dvc_yaml(shown.stdout, relpath).data
            self._documents[key] = data
        return self._documents[key]

    def _versions(self, relpath: str) -> list[str]:
        """Commits that changed a file, newest first (from HEAD)."""
        if relpath not in self._commits:
            listed = git_ok("log", "--format=%H", "HEAD", "--", self._path(relpath), cwd=self.root)
            self._commits[relpath] = listed.split() if listed else []
        return self._commits[relpath]

    def _is_boundary(self, commit: str) -> bool:
        """Whether history was cut below this commit (a shallow clone), so it may not be where a value began."""
        if self._shallow is None:
            found = git_ok("rev-parse", "--git-path", "shallow", cwd=self.root)
            path = os.path.join(self.root, found) if found else ""
            with contextlib.suppress(OSError), open(path, encoding="ascii") as handle:
                self._shallow = frozenset(handle.read().split())
            self._shallow = self._shallow or frozenset()
        return commit in self._shallow

    def committed(self, path: str) -> bool:
        """Whether HEAD holds a file at this path (relative to the DVC project's root)."""
        return run_git("cat-file", "-e", f"HEAD:{self._path(path)}", cwd=self.root).returncode == 0

    def locked_at(self, lockfile: str, stage: str, dep: str, md5: str) -> str | None:
        """The commit where `stage`'s dep `dep` took the hash `md5` that it still has at HEAD, or None
        when that cannot be known (the work tree's entry is not HEAD's; history cut short)."""
        found = None
        for commit in self._versions(lockfile):
            if _dep_md5(self._data(commit, lockfile), stage, dep) != md5:
                break
            found = commit
        else:
            if found is not None and self._is_boundary(found):
                return None
        return found

    def recorded_at(self, commit: str, source: Source) -> Mapping[str, Any] | None:
        """An output's entry (md5, nfiles...) at a commit, None when it was not recorded there."""
        data = self._data(commit, source.file)
        body = data if source.stage is None else _get(_get(data, "stages"), source.stage)
        return next((out for out in _items(body, "outs") if out.get("path") == source.key), None)

    def tracked_change(self, commit: str, path: str) -> bool | None:
        """Whether git-tracked files under `path` differ between `commit` and the work tree; None when
        files git does not track stand there, which history cannot account for."""
        others = git_ok("ls-files", "--others", "--exclude-standard", "--", path, cwd=self.root)
        if others is None or others:
            return None
        quiet = run_git("diff", "--quiet", commit, "--", path, cwd=self.root)
        return None if quiet.returncode > 1 else quiet.returncode == 1


def _get(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, Mapping) else None


def _items(body: Any, kind: str) -> Iterator[Mapping[str, Any]]:
    listed = _get(body, kind)
    yield from (item for item in listed if isinstance(item, Mapping)) if isinstance(listed, list) else ()


def _dep_md5(data: Any, stage: str, dep: str) -> Any:
    found = next((d for d in _items(_get(_get(data, "stages"), stage), "deps") if d.get("path") == dep), None)
    return found.get("md5") if found is not None else None


def judge(
    history: History,
    *,
    lockfile: str,
    stage: str,
    dep: str,
    dep_path: str,
    md5: str,
    overlapping: Mapping[str, tuple[str, Source]],
) -> tuple[Verdict, str]:
    """Whether a dep whose hash needs outputs not at hand changed since its stage was locked.

    `overlapping`: repo-relative output path -> (its md5 now, where it is recorded), for every
    recorded output inside the dep or holding it. Returns the verdict and what it rests on.
    """
    commit = history.locked_at(lockfile, stage, dep, md5)
    if commit is None:
        return "unknown", "its outputs are not at hand and git history does not show when it was locked"
    since = f"since '{stage}' was locked in {commit[:8]}"
    for out, (now, source) in sorted(overlapping.items()):
        then = history.recorded_at(commit, source)
        if then is not None and str(then.get("md5")) == now:
            continue
        was = str(then.get("md5"))[:8] if then is not None else "(none)"
        change = f"{out} {since}: md5 {was} -> {now[:8]}, as recorded in {source}"
        if dep_path == out or dep_path.startswith(out + "/"):
            # A file inside the output changed only if the output held just that file.
            if then is not None and then.get("nfiles") == 1:
                return "changed", change
            return "unknown", f"{out} changed {since}, and without its data the files it holds cannot be compared"
        return "changed", change
    if any(dep_path == out or dep_path.startswith(out + "/") for out in overlapping):
        return "same", ""
    tracked = history.tracked_change(commit, dep_path)
    if tracked is None:
        return "unknown", f"untracked files stand under {dep_path}, and its outputs are not at hand"
    return ("changed", f"files git tracks under {dep_path} changed {since}") if tracked else ("same", "")
