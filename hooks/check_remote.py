"""check-remote: every DVC output the pushed commits reference is in the DVC remote, so teammates can `dvc pull`.

Outputs come from the dvc.lock and .dvc files of the pushed commits (the tip's, plus every version a
pushed commit added), read from git objects, so the check works in a clone whose data was never pulled.
A directory remote (a plain path in .dvc/config) is checked by looking at DVC's own layout,
`files/md5/<2 hex>/<rest>` (`<2 hex>/<rest>` for DVC 2 hashes), without running DVC; `--push` copies
what is missing from the local cache. Any other remote (s3://, ssh://...) is left to the `dvc` CLI:
`dvc status --cloud` for the checked-out commit and `dvc push`. A remote that cannot be reached (DVC's
own error passed through, or an HTTP server that does not answer) is reported as such, never as
outputs missing from it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence

from lockship.core.dvc.files import parse_dvc_yaml
from lockship.core.dvc.lock import locked_outs
from lockship.core.dvc.refs import declared_outs
from lockship.core.dvc.remote import (
    Output,
    Remote,
    check_directory_remote,
    dvc_error,
    read_dvc_config,
    unreachable,
)
from lockship.core.errors import LockshipError, entrypoint
from lockship.core.git.repo import ZERO_SHA, git, pushed_commits, pushed_tip, require_repo, run_git


def dvc_file_versions(tip: str, commits: Iterable[str]) -> dict[tuple[str, str], str]:
    """(commit, path) -> blob of every dvc.lock and .dvc file of the tip and every version the commits add."""
    versions: dict[tuple[str, str], str] = {}
    for line in git("ls-tree", "-r", tip).splitlines():
        info, path = line.split("\t", 1)
        if is_dvc_file(path):
            versions[(tip, path)] = info.split()[2]
    for commit in commits:
        for line in git("diff-tree", "-r", "--root", "--no-commit-id", "--no-renames", commit).splitlines():
            info, path = line.split("\t", 1)
            blob = info.split()[3]
            if is_dvc_file(path) and blob != ZERO_SHA and blob not in versions.values():
                versions[(commit, path)] = blob
    return versions


def is_dvc_file(path: str) -> bool:
    return path == "dvc.lock" or (path.endswith(("/dvc.lock", ".dvc")) and not path.startswith(".dvc/"))


def outputs_of(path: str, text: str, source: str, dvc_yaml: str | None) -> list[Output]:
    """The cached outputs a dvc.lock or .dvc file names; a file that is not valid YAML raises."""
    locked = locked_outs(parse_dvc_yaml(text, source), path)
    skip: set[str] = set()
    if dvc_yaml:  # outputs that dvc.yaml marks `cache: false` or `push: false` never reach a remote
        declared = parse_dvc_yaml(dvc_yaml, source.replace(".lock@", ".yaml@", 1))
        skip = {out.path for out in declared_outs(declared, f"{path[:-5]}.yaml") if not (out.cache and out.push)}
    return [
        Output(out.path, out.md5, out.legacy, source)
        for out in locked
        if out.md5 is not None and out.cache and out.push and out.path not in skip
    ]


def referenced_outputs(new: str | None) -> list[Output]:
    require_repo()
    tip = pushed_tip(new)
    outputs: set[Output] = set()
    for (commit, path), blob in sorted(dvc_file_versions(tip, pushed_commits(tip)).items()):
        dvc_yaml = None
        if path.endswith("dvc.lock"):
            shown = run_git("cat-file", "-p", f"{commit}:{path[:-5]}.yaml")
            dvc_yaml = shown.stdout if shown.returncode == 0 else None
        outputs.update(outputs_of(path, git("cat-file", "-p", blob), f"{path}@{commit[:7]}", dvc_yaml))
    unique = {(o.md5, o.path): o for o in sorted(outputs)}  # one line per output, from its first source
    return sorted(unique.values())


def check_with_dvc(remote: Remote, outputs: Sequence[Output], *, push: bool) -> list[str]:
    """For remotes lockship cannot read itself: ask the dvc CLI about the checked-out commit."""
    if shutil.which("dvc") is None:
        raise LockshipError(f"{remote.url}: checking a '{remote.url.split('://')[0]}' remote needs `dvc` on PATH")
    if push:
        subprocess.run(("dvc", "push", "--remote", remote.name), check=False)
    result = subprocess.run(
        ("dvc", "status", "--cloud", "--remote", remote.name, "--json"), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise LockshipError(
            f"{remote.url}: cannot reach DVC remote '{remote.name}': {dvc_error(result.stderr, result.returncode)}"
        )
    status: dict[str, str] = json.loads(result.stdout or "{}")
    # "deleted" means in the remote but not in the local cache: exactly what a teammate can pull.
    absent = {path: state for path, state in status.items() if state != "deleted"}
    reason = unreachable(remote) if absent else None
    if reason:
        raise LockshipError(f"{remote.url}: cannot reach DVC remote '{remote.name}': {reason}")
    return describe_status(absent, outputs, remote)


def describe_status(absent: Mapping[str, str], outputs: Sequence[Output], remote: Remote) -> list[str]:
    """One line per output `dvc status --cloud` finds absent; a directory's listing and files make one line."""
    directories = {o.path for o in outputs if o.md5.endswith(".dir")}
    directories |= {p for p in absent if any(other.startswith(p + "/") for other in absent)}
    grouped: dict[str, list[str]] = {}
    for path in sorted(absent):
        owner = next((d for d in sorted(directories) if path == d or path.startswith(d + "/")), path)
        grouped.setdefault(owner, []).append(path)
    lines = []
    for path, entries in grouped.items():
        what = f"{len(entries)} object(s) of directory" if path in directories else "file"
        cached = all(absent[entry] == "new" for entry in entries)
        where = "" if cached else " nor in the local cache (`dvc repro` or push from where it was produced)"
        lines.append(f"{path}: {what} not in DVC remote '{remote.name}'{where}")
    if any(state == "new" for state in absent.values()):
        lines.append(f"run `lockship check-remote --push` or `dvc push -r {remote.name}` to upload what is cached")
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship-check-remote", description=__doc__.splitlines()[0])
    parser.add_argument("--remote", help="DVC remote name (default: core.remote of .dvc/config)")
    parser.add_argument("--push", action="store_true", help="upload what the remote lacks from the local cache")
    parser.add_argument("--new", help="the commit to check (default: the one being pushed, else HEAD)")
    parser.add_argument("--use-dvc", action="store_true", help="ask the dvc CLI even for a directory remote")
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)  # tolerated: pre-commit may pass them
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    outputs = referenced_outputs(args.new)
    if not outputs:
        sys.stdout.write("check-remote: the pushed commits reference no DVC outputs\n")
        return 0
    remote, cache = read_dvc_config(args.remote)
    if remote.local is None or args.use_dvc:
        problems = check_with_dvc(remote, outputs, push=args.push)
    else:
        problems, uploaded = check_directory_remote(outputs, remote, cache, push=args.push)
        if uploaded:
            size = sum((cache / name).stat().st_size for name in uploaded)
            sys.stdout.write(f"check-remote: uploaded {len(uploaded)} object(s), {size} bytes, to '{remote.name}'\n")
    if problems:
        raise LockshipError(*problems)
    sys.stdout.write(f"check-remote: all {len(outputs)} DVC outputs are in remote '{remote.name}'\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
