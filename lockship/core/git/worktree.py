"""A scratch checkout of a commit beside the repository, so that work there never touches the work tree."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lockship.core.git.repo import git, run_git


@contextmanager
def scratch_worktree(top: Path, commit: str, *, keep: bool = False) -> Iterator[Path]:
    """A detached worktree of `commit` in a new temporary folder; removed on exit unless `keep`."""
    path = Path(tempfile.mkdtemp(prefix=f"lockship-verify-{top.name}-"))
    try:
        # No hooks: a post-checkout hook (such as DVC's) would act on the scratch tree with the wrong cache.
        git("-c", "core.hooksPath=/dev/null", "worktree", "add", "--quiet", "--detach", str(path), commit, cwd=top)
        yield path
    finally:
        if not keep:
            run_git("worktree", "remove", "--force", str(path), cwd=top)
            shutil.rmtree(path, ignore_errors=True)
            run_git("worktree", "prune", cwd=top)
