"""gate-metrics: block a push whose metrics got worse than the target branch's beyond the configured rules.

The base is, in order: `--base`; the remote commit pre-commit names in PRE_COMMIT_FROM_REF (the old tip
of the branch pushed to, or where a new branch leaves what the remote already has); the remote-tracking
branch pushed to; the merge base with the remote's default branch. Metrics files are those declared
under `metrics:` in every dvc.yaml, read from git objects of both commits (never from the work tree).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lockship.core.errors import LockshipError, entrypoint
from lockship.core.git.repo import (
    ZERO_SHA,
    choose_remote,
    commit_of,
    default_branch,
    git,
    git_ok,
    pushed_tip,
    require_repo,
)

if TYPE_CHECKING:
    from git import Commit

    from lockship.core.config import GateMetricsConfig
    from lockship.core.metrics import Row

# A push whose changed files have none of these endings cannot change any metric: no dvc.yaml,
# no metrics file and no params/config file moved, so the gate is skipped before anything is parsed.
RELEVANT_SUFFIXES = (".json", ".yaml", ".yml", ".toml")


@dataclass(frozen=True)
class Target:
    new: str
    base: str | None
    why_no_base: str = ""


def resolve_target(*, base: str | None, new: str | None, remote: str | None) -> Target:
    """Which two commits to compare; raises when a manual run cannot tell (no remote, detached HEAD...)."""
    require_repo()
    new_sha = pushed_tip(new)
    if base:
        return Target(new_sha, commit_of(base))
    from_ref = os.environ.get("PRE_COMMIT_FROM_REF")
    if from_ref and from_ref != ZERO_SHA:
        return Target(new_sha, commit_of(from_ref))
    pushing = "PRE_COMMIT_REMOTE_NAME" in os.environ
    local = git_ok("symbolic-ref", "--quiet", "--short", "HEAD")
    pushed_to = os.environ.get("PRE_COMMIT_REMOTE_BRANCH", "").removeprefix("refs/heads/")
    if not pushed_to and local:
        upstream = git_ok("config", f"branch.{local}.merge")
        pushed_to = upstream.removeprefix("refs/heads/") if upstream else local
    if not pushed_to:
        raise LockshipError("HEAD is detached: cannot tell which branch this is pushed to; pass --base REF")
    remote_name = choose_remote(remote, local)
    tracking = f"refs/remotes/{remote_name}/{pushed_to}"
    if git_ok("rev-parse", "--verify", "--quiet", tracking):
        return Target(new_sha, commit_of(tracking))
    fallback = default_branch(remote_name)
    if fallback:
        merge_base = git_ok("merge-base", new_sha, fallback)
        if merge_base:
            return Target(new_sha, merge_base)
        return Target(new_sha, None, f"no history shared with {fallback.removeprefix('refs/remotes/')}")
    message = f"remote '{remote_name}' has neither '{pushed_to}' nor a default branch to compare with"
    if pushing:  # the first push of a repository: there is nothing on the remote yet
        return Target(new_sha, None, message + " (first push)")
    raise LockshipError(f"{message}; fetch it or pass --base REF")


def changed_files(target: Target) -> set[str] | None:
    """Paths that differ between base and new, or None when there is no base."""
    if target.base is None:
        return None
    return set(filter(None, git("diff", "--name-only", "--no-renames", "-z", target.base, target.new).split("\0")))


# --- reading metrics from git objects ------------------------------------------------------------


def read_blob(commit: Commit, path: str) -> bytes | None:
    try:
        blob = commit.tree / path
    except KeyError:
        return None
    data: bytes = blob.data_stream.read()
    return data


def declared_metrics(commit: Commit) -> dict[str, str]:
    """Metrics file -> the dvc.yaml that declares it, for every dvc.yaml in the commit."""
    from lockship.core.dvc.files import parse_dvc_yaml
    from lockship.core.dvc.refs import declared_outs

    found: dict[str, str] = {}
    names = commit.repo.git.ls_tree("-r", "--name-only", "-z", commit.hexsha).split("\0")
    for dvcfile in sorted(n for n in names if n == "dvc.yaml" or n.endswith("/dvc.yaml")):
        text = (read_blob(commit, dvcfile) or b"").decode("utf-8", "replace")
        document = parse_dvc_yaml(text, f"{dvcfile}@{commit.hexsha[:7]}")
        for out in declared_outs(document, dvcfile):
            if out.kind == "metrics" and "${" not in out.path:
                found[out.path] = dvcfile
    return found


@dataclass(frozen=True)
class Outcome:
    notes: list[str]
    rows: list[Row]
    problems: list[str]  # empty when the push may go


def read_side(
    commit: Commit, files: Mapping[str, str], *, required: bool, others: dict[tuple[str, str], str] | None = None
) -> dict[tuple[str, str], float]:
    """Every numeric metric of a commit's metrics files; unreadable files raise, absent ones raise if required.

    `others` gets what each leaf that is not a finite number is (NaN, a string...).
    """
    from lockship.core.metrics import parse_metrics

    values: dict[tuple[str, str], float] = {}
    problems: list[str] = []
    for path in sorted(files):
        data = read_blob(commit, path)
        if data is None:
            if required:
                where = f"declared in {files[path]} but not in commit {commit.hexsha[:7]}"
                problems.append(f"{path}: {where} (a metrics file must be in git: `cache: false`)")
            continue
        leaves: dict[str, str] = {}
        try:
            parsed = parse_metrics(data, f"{path}@{commit.hexsha[:7]}", leaves)
            values.update({(path, k): v for k, v in parsed.items()})
            if others is not None:
                others.update({(path, k): what for k, what in leaves.items()})
        except LockshipError as error:
            problems.extend(error.problems)
    if problems:
        raise LockshipError(*problems)
    return values


def gate(
    target: Target, config: GateMetricsConfig, *, changed: set[str] | None = None, config_file: str = ""
) -> Outcome:
    """Read both sides' metrics and compare them; unreadable metrics files raise."""
    import git as gitpython

    from lockship.core.metrics import compare

    repo = gitpython.Repo(search_parent_directories=True)
    new_commit = repo.commit(target.new)
    base_commit = repo.commit(target.base) if target.base else None
    new_files = declared_metrics(new_commit)
    base_files = declared_metrics(base_commit) if base_commit is not None else {}
    files = {**base_files, **new_files}
    if not files:
        return Outcome(["gate-metrics: no dvc.yaml declares any metrics; nothing to gate"], [], [])
    if changed is not None and not changed & {*files, *files.values(), config_file}:
        return Outcome(["gate-metrics: no metrics file, dvc.yaml or config changed; skipped"], [], [])
    problems: list[str] = []
    not_numbers: dict[tuple[str, str], str] = {}
    try:
        new = read_side(new_commit, new_files, required=True, others=not_numbers)
    except LockshipError as error:
        problems.extend(error.problems)
        new = {}
    try:
        base = read_side(base_commit, base_files, required=False) if base_commit is not None else {}
    except LockshipError as error:
        problems.extend(error.problems)
    if problems:
        raise LockshipError(*problems)
    base_label = f"the base {target.base[:7]}" if target.base else "the base"
    notes: list[str] = []
    if not base:
        why = target.why_no_base or f"no metrics file in {base_label}"
        note = f"no metrics on the base ({why}); missing_base is '{config.missing_base}'"
        if config.missing_base == "fail":
            raise LockshipError(f"{config.source or 'lockship.gate_metrics'}: {note}")
        notes.append(f"gate-metrics: {note}")
    rows = compare(base, new, config, base_label=base_label, not_numbers=not_numbers)
    names = {name for path, key in (*base, *new, *not_numbers) for name in (key, f"{path}:{key}")}
    problems += [f"{config.source}: rule for '{name}' matches no metric" for name in sorted(set(config.rules) - names)]
    problems += [row.problem for row in rows if row.problem]
    return Outcome(notes, rows, problems)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship-gate-metrics", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="file with a 'lockship' section (default: params.yaml, if present)")
    parser.add_argument("--base", help="compare with this commit instead of the target branch")
    parser.add_argument("--new", help="the commit to check (default: the one being pushed, else HEAD)")
    parser.add_argument("--remote", help="git remote whose branches are the target (default: the push's)")
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)  # tolerated: pre-commit may pass them
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    target = resolve_target(base=args.base, new=args.new, remote=args.remote)
    changed = changed_files(target)
    if changed is not None and not any(name.endswith(RELEVANT_SUFFIXES) for name in changed):
        sys.stdout.write(
            f"gate-metrics: no metrics, dvc.yaml or config changed since {(target.base or '')[:7]}; skipped\n"
        )
        return 0
    from lockship.core.config import DEFAULT_CONFIG, load_config
    from lockship.core.metrics import markdown_table

    config = load_config(args.config).gate_metrics
    config_file = os.path.relpath(args.config or DEFAULT_CONFIG, git("rev-parse", "--show-toplevel").strip())
    outcome = gate(target, config, changed=changed, config_file=config_file)
    for line in outcome.notes:
        sys.stdout.write(line + "\n")
    if outcome.rows:
        sys.stdout.write(markdown_table(outcome.rows) + "\n")
    if outcome.problems:
        raise LockshipError(*outcome.problems)
    return 0


if __name__ == "__main__":
    sys.exit(main())
