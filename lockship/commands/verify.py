"""`lockship verify`: re-run the committed pipeline in a scratch worktree and compare every output with dvc.lock.

The scratch worktree is a detached checkout of HEAD in a temporary folder: this checkout, its
dvc.lock and its DVC cache are only read. Data that no re-run stage produces (`.dvc` files, outputs of
frozen stages) is checked out from this checkout's DVC cache; the re-run itself writes to a cache of
its own. An output that differs is printed with what changed in the environment fingerprints
(`environment` objects in JSON outputs) of its stage and of the stages upstream.
"""

from __future__ import annotations

import argparse
import configparser
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lockship.core.dvc.files import Stage, read_yaml
from lockship.core.dvc.fingerprint import environment_changes, environment_of
from lockship.core.dvc.hashes import IgnoreRules
from lockship.core.dvc.lock import LockedOut, load_lock, locked_outs
from lockship.core.dvc.project import dvc_files, load_project
from lockship.core.dvc.remote import Output, needed_objects, object_path
from lockship.core.dvc.reproduce import Difference, Locks, compare, explained, feeds, find_stage, overlaps, rerun_stages
from lockship.core.errors import EXIT_USAGE, LockshipError, entrypoint
from lockship.core.git.repo import git, git_ok, run_git, toplevel
from lockship.core.git.worktree import scratch_worktree

UNKNOWN_ENVIRONMENT = "(committed environment unknown: not in the DVC cache)"
UNCOMMITTED_ENVIRONMENT = "(committed environment unknown: not in git)"  # an uncached output left out of git


@dataclass(frozen=True)
class Outcome:
    commit: str
    lines: list[str]  # one per differing output or stale lock entry; empty when everything reproduces
    differences: int
    outputs: int
    stages: int


@dataclass(frozen=True)
class Origin:
    """The checkout being verified: its git top, its DVC project inside it and that project's cache."""

    top: Path
    inside: str  # the DVC project's folder relative to `top` ("" at the top)
    cache: Path
    commit: str


def _origin(repo: str) -> Origin:
    if not Path(repo).is_dir():
        raise LockshipError(f"{repo}: no such directory", exit_code=EXIT_USAGE)
    found = toplevel(repo)
    if found is None:
        raise LockshipError(f"{Path(repo).resolve()}: not a git repository", exit_code=EXIT_USAGE)
    top, current = found.resolve(), Path(repo).resolve()
    while not (current / ".dvc").is_dir():
        if current in (top, current.parent):
            raise LockshipError(
                f"{Path(repo).resolve()}: not a DVC repository (no .dvc directory)", exit_code=EXIT_USAGE
            )
        current = current.parent
    commit = git_ok("rev-parse", "--verify", "--quiet", "HEAD^{commit}", cwd=top)
    if commit is None:
        raise LockshipError(f"{top}: no commit to verify", exit_code=EXIT_USAGE)
    inside = "" if current == top else current.relative_to(top).as_posix()
    tracked = git("ls-tree", "-r", "--name-only", "HEAD", "--", inside or ".", cwd=top).splitlines()
    if not any(Path(name).name == "dvc.lock" for name in tracked):
        raise LockshipError(
            f"{current}: no dvc.lock committed: run `dvc repro` and commit dvc.lock", exit_code=EXIT_USAGE
        )
    return Origin(top, inside, _cache_dir(current), commit)


def _cache_dir(root: Path) -> Path:
    """The DVC cache as the project configures it (`cache.dir` is relative to .dvc/), default .dvc/cache."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read([root / ".dvc" / "config", root / ".dvc" / "config.local"], encoding="utf-8")
    except configparser.Error as error:
        raise LockshipError(f"{root / '.dvc' / 'config'}: cannot parse: {error.message}") from error
    return (root / ".dvc" / parser.get("cache", "dir", fallback="cache")).resolve()


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _dvc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(("dvc", *args), cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise LockshipError("dvc: not installed or not on PATH", exit_code=EXIT_USAGE) from error


def _failed(result: subprocess.CompletedProcess[str], what: str) -> LockshipError:
    """dvc's complaint (and the failing stage's own stderr), line by line, then what failed."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return LockshipError(*lines, f"lockship verify: {what} failed (--keep keeps the scratch worktree to look into)")


def _sources(
    root: Path, stages: Sequence[Stage], rerun: Sequence[Stage], locks: Locks, dvcs: Sequence[str]
) -> list[tuple[str, list[LockedOut]]]:
    """What the re-run reads and does not produce: (checkout target, its outputs) per `.dvc` file or frozen stage."""
    deps = [dep.path for stage in rerun for dep in stage.deps]
    sources: list[tuple[str, list[LockedOut]]] = []
    for dvc in dvcs:
        outs = locked_outs(read_yaml(str(root), dvc))
        if any(overlaps(out.path, dep) for out in outs for dep in deps):
            sources.append((dvc, outs))
    for stage in stages:
        if stage.frozen and any(feeds(stage, consumer) for consumer in rerun):
            entry = locks.get(stage.dvcfile, {}).get(stage.name)
            recorded = [(out, entry.outs.get(out.def_path, {}) if entry else {}) for out in stage.outs]
            outs = [
                LockedOut(out.path, str(found["md5"]), found.get("hash") != "md5", out.cache, push=True)
                for out, found in recorded
                if found.get("md5")
            ]
            sources.append((stage.address, outs))
    return sources


def _check_out(root: Path, cache: Path, sources: Sequence[tuple[str, list[LockedOut]]]) -> None:
    """Check the sources out from the original cache, or say which are missing from it."""
    missing = []
    for _, outs in sources:
        for out in outs:
            if out.cache and out.md5:
                objects, _ = needed_objects(Output(out.path, out.md5, out.legacy, out.path), cache, cache)
                if any(not (cache / name).is_file() for name in objects):
                    missing.append(f"{out.path}: not in the DVC cache ({cache}): run `dvc pull` first")
    if missing:
        raise LockshipError(*missing)
    # What `dvc config --local cache.dir` writes, without two more dvc runs; a worktree has no config.local.
    local = root / ".dvc" / "config.local"
    local.write_text(f"[cache]\n    dir = {cache}\n", encoding="utf-8")
    result = _dvc(root, "checkout", *(target for target, _ in sources))
    local.unlink()  # the re-run caches its outputs in its own tree
    if result.returncode:
        raise _failed(result, "checking out data from the DVC cache")


def _cached(stage: Stage, path: str) -> bool:
    return all(out.cache for out in stage.outs if out.path == path)


def _committed_text(origin: Origin, stage: Stage, path: str, difference: Difference) -> str | bytes | None:
    """An output's committed content: from git for an uncached output, else from the DVC cache by md5."""
    if not _cached(stage, path):
        shown = run_git("show", f"{origin.commit}:{'/'.join(filter(None, (origin.inside, path)))}", cwd=origin.top)
        return shown.stdout if shown.returncode == 0 else None
    md5 = difference.committed or ""
    for name in (object_path(md5, legacy=False), object_path(md5, legacy=True)):
        if md5 and (origin.cache / name).is_file():
            return (origin.cache / name).read_bytes()
    return None


def _fingerprints(
    origin: Origin, root: Path, rerun: Sequence[Stage], differences: Sequence[Difference]
) -> dict[str, list[str]]:
    """Per stage address, the fingerprint changes found in its differing JSON outputs."""
    differing = {difference.path: difference for difference in differences}
    notes: dict[str, list[str]] = {}
    for stage in rerun:
        for out in stage.outs:
            difference = differing.get(out.path)
            if difference is None or not out.path.endswith(".json") or not (root / out.path).is_file():
                continue
            now = environment_of((root / out.path).read_bytes())
            if now is None:
                continue
            before = _committed_text(origin, stage, out.path, difference)
            if before is not None:
                found = environment_changes(environment_of(before) or {}, now)
            else:
                found = [UNKNOWN_ENVIRONMENT if _cached(stage, out.path) else UNCOMMITTED_ENVIRONMENT]
            notes.setdefault(stage.address, []).extend(found)
    return notes


def verify(repo: str, *, stage: str | None = None, keep: bool = False) -> Outcome:
    """Re-run the pipeline (or `stage` and what it needs) from HEAD in a scratch worktree; compare with dvc.lock."""
    origin = _origin(repo)
    kept: Path | None = None
    try:
        with scratch_worktree(origin.top, origin.commit, keep=keep) as tree:
            kept = tree if keep else None
            root = tree / origin.inside
            ignored = IgnoreRules.load(str(root))
            project = load_project(str(root), ignored)
            target = find_stage(project.stages, stage) if stage else None
            if stage and target is None:
                names = ", ".join(s.address for s in project.stages) or "none"
                raise LockshipError(f"--stage {stage}: no such stage (stages: {names})", exit_code=EXIT_USAGE)
            rerun = rerun_stages(project.stages, target)
            running = f"re-running {_count(len(rerun), 'stage')} of {origin.commit[:12]} in {tree}"
            print(f"lockship verify: {running}", file=sys.stderr)
            sources = _sources(root, project.stages, rerun, project.locks, dvc_files(str(root), ignored)[1])
            if sources:
                _check_out(root, origin.cache, sources)
            result = _dvc(root, "repro", "--force", *([target.address] if target else ["--all-pipelines"]))
            if result.returncode:
                raise _failed(result, "the re-run")
            after = {
                dvcfile: load_lock(str(root), lockfile) if (root / lockfile).is_file() else {}
                for dvcfile in project.locks
                for lockfile in [dvcfile.removesuffix("dvc.yaml") + "dvc.lock"]
            }
            comparison = compare(project.stages, rerun, project.locks, after)
            notes = _fingerprints(origin, root, rerun, comparison.differences)
            lines = [*explained(project.stages, comparison.differences, notes), *comparison.problems]
            return Outcome(origin.commit, lines, len(comparison.differences), comparison.outputs, len(rerun))
    finally:
        if kept is not None:
            print(
                f"scratch worktree kept at {kept} (remove it with `git worktree remove --force {kept}`)",
                file=sys.stderr,
            )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship verify", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", help="re-run only this stage and the stages it needs (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch worktree and print where it is")
    parser.add_argument("--repo", default=".", help="the DVC project to verify (default: the current directory)")
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    outcome = verify(args.repo, stage=args.stage, keep=args.keep)
    summary = f"{_count(outcome.outputs, 'output')} of {_count(outcome.stages, 'stage')}"
    at = f"dvc.lock at {outcome.commit[:12]}"
    if outcome.lines:
        raise LockshipError(*outcome.lines, f"{outcome.differences} of {summary} differ from {at}")
    print(f"{summary} {'reproduces' if outcome.outputs == 1 else 'reproduce'} {at}")
    return 0
