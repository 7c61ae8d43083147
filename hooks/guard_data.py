"""guard-data: block committing to git a file that belongs in DVC, and say the command that fixes it.

A staged file is blocked when it is larger than `--max-kb` or matches a data/model pattern (in any
letter case: `MODEL.PKL` too), unless
DVC declares it as an output with `cache: false` (metrics, plots: those belong in git). A file that
DVC already tracks in its cache (a `.dvc` file or a cached `dvc.yaml` output) is blocked too: DVC
refuses such a file in git, and committing it would put the data in git history after all.
Templated output paths (`${...}`) are resolved as check-lock resolves them; one that cannot be
resolved is skipped with a note, never widened to a glob that would claim every staged file.
"""

from __future__ import annotations

import argparse
import os
import posixpath
import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lockship.core.dvc.files import load_stages, read_yaml
from lockship.core.dvc.lock import locked_outs
from lockship.core.dvc.refs import declared_outs
from lockship.core.errors import EXIT_USAGE, LockshipError, entrypoint
from lockship.core.git.repo import ls_files
from lockship.core.globs import glob_match

DEFAULT_MAX_KB = 500
DEFAULT_PATTERNS = (
    *("*.csv", "*.tsv", "*.parquet", "*.pq", "*.feather", "*.arrow", "*.avro", "*.tfrecord"),
    *("*.h5", "*.hdf5", "*.npy", "*.npz", "*.pkl", "*.pickle", "*.joblib", "*.skops"),
    *("*.onnx", "*.pt", "*.pth", "*.ckpt", "*.safetensors"),
)


@dataclass(frozen=True)
class DvcOutputs:
    """Paths DVC declares, each mapped to where: cached ones (kept out of git) and `cache: false` ones."""

    cached: Mapping[str, str]
    in_git: Mapping[str, str]


def _declared(outputs: Mapping[str, str], path: str) -> str | None:
    """Where `path`, or a folder holding it, is declared."""
    parts = path.split("/")
    for end in range(len(parts), 0, -1):
        candidate = "/".join(parts[:end])
        if candidate in outputs:
            return outputs[candidate]
    return None


def guard(
    files: Mapping[str, int], outputs: DvcOutputs, *, max_kb: int, patterns: Sequence[str], allow: Sequence[str]
) -> list[str]:
    """One problem line per staged file (path -> size in bytes) that must not go into git."""
    problems = []
    for path, size in sorted(files.items()):
        if any(glob_match(path, pattern) for pattern in allow) or _declared(outputs.in_git, path):
            continue
        tracked = _declared(outputs.cached, path)
        quoted = shlex.quote(path)  # the command is for pasting into a shell: `big file é.bin` is one argument
        if tracked:
            problems.append(f"{path}: tracked by DVC ({tracked}) and staged in git too; git rm --cached {quoted}")
            continue
        fix = f"track it with DVC instead: git rm --cached {quoted} && dvc add {quoted}"
        kilobytes = -(-size // 1024)
        # Case-blind, as on the file systems of macOS and Windows: DATA.CSV is a CSV file.
        matched = next((p for p in patterns if glob_match(path.casefold(), p.casefold())), None)
        if kilobytes > max_kb:
            problems.append(f"{path}: {kilobytes} KB, over the {max_kb} KB limit for files in git; {fix}")
        elif matched:
            problems.append(f"{path}: a data or model file ({matched}) staged in git; {fix}")
    return problems


def dvc_outputs(dvc_files: Iterable[str], notes: list[str] | None = None) -> DvcOutputs:
    """Outputs declared by `.dvc` files and `dvc.yaml` files (paths relative to the repo root).

    A dvc.yaml's `${...}` paths are resolved as check-lock resolves them (params.yaml, vars, foreach,
    matrix); when its templates cannot be resolved, its templated outputs are left out, each with a
    line in `notes`: a glob in their place would claim files DVC never writes.
    """
    cached: dict[str, str] = {}
    in_git: dict[str, str] = {}
    for dvc_file in sorted(dvc_files):
        if posixpath.basename(dvc_file) == "dvc.yaml":
            found = _pipeline_outs(dvc_file, [] if notes is None else notes)
        else:
            found = [(out.path, out.cache, dvc_file) for out in locked_outs(read_yaml(".", dvc_file))]
        for path, is_cached, where in found:
            (cached if is_cached else in_git)[path] = where
    return DvcOutputs(cached=cached, in_git=in_git)


def _pipeline_outs(dvc_file: str, notes: list[str]) -> list[tuple[str, bool, str]]:
    """(path, cached, where) of every stage output of one dvc.yaml, templates resolved."""
    written = [out for out in declared_outs(read_yaml(".", dvc_file)) if out.stage is not None]
    try:
        stages = load_stages(".", dvc_file)
    except LockshipError as error:
        plain = [(out.path, out.cache, out.where) for out in written if "${" not in out.path]
        reason = error.problems[0] if error.problems else "cannot be resolved"
        notes += [f"{out.where}: out {out.path} not checked: {reason}" for out in written if "${" in out.path]
        return plain
    by_stage: dict[str, list[str]] = {}
    for out in written:  # the line of each entry as written, to name it in messages
        by_stage.setdefault(str(out.stage), []).append(out.where.rsplit(": stage ", 1)[0])
    found = []
    for stage in stages:
        lines = by_stage.get(stage.name.split("@")[0], [])
        for index, resolved in enumerate(stage.outs):
            line = lines[index] if len(lines) == len(stage.outs) else f"{dvc_file}:{stage.line}"
            found.append((resolved.path, resolved.cache, f"{line}: stage '{stage.name}'"))
    return found


def git_dvc_files() -> list[str]:
    """`.dvc` and `dvc.yaml` files that git tracks or would track, relative to the current directory."""
    names = ls_files("*.dvc", "*dvc.yaml", untracked=True)
    return [n for n in names if (n.endswith(".dvc") or posixpath.basename(n) == "dvc.yaml") and os.path.isfile(n)]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship-guard-data", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="staged files (pre-commit passes them)")
    parser.add_argument("--max-kb", type=int, default=DEFAULT_MAX_KB, help="largest file git may take (%(default)s)")
    parser.add_argument("--pattern", action="append", default=[], help="another data/model glob to block")
    parser.add_argument("--no-default-patterns", action="store_true", help="block only the --pattern globs")
    parser.add_argument("--allow", action="append", default=[], help="a glob never blocked (e.g. tests/data/*.csv)")
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.max_kb < 1:
        raise LockshipError("--max-kb: must be at least 1", exit_code=EXIT_USAGE)
    sizes: dict[str, int] = {}
    missing = []
    for name in args.files:
        path = posixpath.normpath(name.replace(os.sep, "/"))
        try:
            sizes[path] = os.lstat(path).st_size
        except FileNotFoundError:
            missing.append(f"{path}: file not found")
    notes: list[str] = []
    outputs = dvc_outputs(git_dvc_files(), notes)
    for note in notes:
        sys.stderr.write(f"note: {note}\n")
    patterns = [*([] if args.no_default_patterns else DEFAULT_PATTERNS), *args.pattern]
    problems = guard(sizes, outputs, max_kb=args.max_kb, patterns=patterns, allow=args.allow)
    if missing or problems:
        raise LockshipError(*missing, *problems)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
