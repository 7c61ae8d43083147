"""lockship init: make a git repository run lockship's pipeline on its own data, in one command.

In the repository: `dvc init` when DVC is not set up yet, `dvc add` the data file, write dvc.yaml,
params.yaml (identifier-like, free-text and constant columns proposed for dropping, each with its
reason as a comment), schema.yaml (inferred from the data as the pipeline prepares it) and the gate
rules, install the hooks, and print what it did and what to run next. Running it again changes
nothing; a file that exists with other content is never overwritten without --force.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lockship.core.errors import EXIT_USAGE, LockshipError, entrypoint
from lockship.core.fsio import write_outputs
from lockship.core.git.hooks import repo_root
from lockship.core.git.precommit_config import repo_url
from lockship.core.yamlio import read_text


@dataclass(frozen=True)
class Plan:
    """What init writes: path (relative to the repository) -> text, and what it says about each."""

    files: dict[str, str]
    notes: dict[str, str]


def plan(root: Path, *, data: str, target: str, test_size: float, seed: int, min_rows: int) -> Plan:
    """The files for `data` in `root`: read the data, propose drops, infer the schema of the prepared columns."""
    from lockship.commands.init_files import PACKAGE_GITIGNORE, PER_CLASS_TEMPLATE, dvc_yaml, params_yaml
    from lockship.commands.schema_infer import infer_schema
    from lockship.core.data.features import FeatureRules, apply_rules, proposed_drops
    from lockship.core.data.schema import schema_yaml
    from lockship.core.data.tabular import read_table

    frame = read_table(str(root / data))
    if target not in frame.columns:
        listed = ", ".join(map(str, frame.columns[:10]))
        raise LockshipError(f"{data}: no column '{target}' (--target); columns are: {listed}", exit_code=EXIT_USAGE)
    proposals = proposed_drops(frame, target=target)
    prepared = apply_rules(frame, FeatureRules(drop=tuple(proposals)), target=target, where=data)
    schema = infer_schema(
        prepared, target=target, min_rows=min_rows, files=["data/prepared/*.csv"], min_rows_counts="all_files"
    )
    files = {
        "params.yaml": params_yaml(data=data, target=target, proposals=proposals, test_size=test_size, seed=seed),
        "dvc.yaml": dvc_yaml(data=data),
        "schema.yaml": schema_yaml(schema),
        "package/.gitignore": PACKAGE_GITIGNORE,
        ".dvc/plots/per_class.json": PER_CLASS_TEMPLATE,
    }
    dropped = ", ".join(f"'{name}'" for name in sorted(proposals)) or "none"
    notes = {
        "params.yaml": f"pipeline settings; proposed to drop: {dropped} (reasons in the file)",
        "dvc.yaml": "the pipeline: prepare, validate, train, evaluate, package",
        "schema.yaml": f"{len(schema.columns)} columns of the prepared data; values outside what was seen are flagged",
        "package/.gitignore": "keeps this machine's build facts out of git",
        ".dvc/plots/per_class.json": "the plot template that draws one ROC and precision-recall curve per class",
    }
    return Plan(files, notes)


def dvc(root: Path, *args: str) -> str:
    """Run the dvc CLI in `root`; its failure is one LockshipError with what it said."""
    try:
        result = subprocess.run(["dvc", *args], cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise LockshipError("dvc: not installed (pip install dvc)") from error
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip().splitlines()
        raise LockshipError(f"dvc {' '.join(args)}: failed: {said[-1] if said else result.returncode}")
    return result.stdout


def init(root: Path, data: str, layout: Plan, *, force: bool) -> list[str]:
    """Set up DVC, track the data, write the files; nothing is written when a file would be overwritten."""
    said: list[str] = []
    clashes = [
        f"{name}: exists with other content; pass --force to overwrite it"
        for name, text in sorted(layout.files.items())
        if (root / name).exists() and read_text(root / name, name=name) != text and not force
    ]
    if clashes:
        raise LockshipError(*clashes, exit_code=EXIT_USAGE)
    if not (root / ".dvc").is_dir():
        dvc(root, "init", "-q")
        said.append(".dvc: created (dvc init)")
    tracked = root / f"{data}.dvc"
    before = tracked.read_bytes() if tracked.exists() else None
    dvc(root, "add", "-q", data)
    after = tracked.read_bytes()
    said.append(f"{data}.dvc: {'unchanged' if before == after else 'written'} ({data} tracked by DVC, not git)")
    changed: dict[str | os.PathLike[str], str] = {}
    for name, text in sorted(layout.files.items()):
        path = root / name
        old = read_text(path, name=name) if path.exists() else None
        verb = "unchanged" if old == text else ("overwritten" if old is not None else "written")
        if old != text:
            changed[path] = text
        said.append(f"{name}: {verb}: {layout.notes[name]}")
    write_outputs(changed)
    return said


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship init", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the data file (CSV or Parquet), relative to the repository")
    parser.add_argument("--target", required=True, help="its label column")
    parser.add_argument("--repo", default=".", help="the git repository (default: .)")
    parser.add_argument("--test-size", type=float, default=0.2, help="share of rows held out for testing")
    parser.add_argument("--seed", type=int, default=42, help="the split's and the model's seed")
    parser.add_argument(
        "--min-rows", type=int, default=1, help="fewest rows the prepared data (train and test together) may have"
    )
    parser.add_argument("--force", action="store_true", help="overwrite files that exist with other content")
    parser.add_argument("--no-hooks", action="store_true", help="do not install the git hooks")
    parser.add_argument("--repo-url", default=repo_url(), help="where pre-commit fetches lockship's hooks")
    parser.add_argument("--rev", help="lockship revision the hooks are pinned to (default: v<installed version>)")
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not 0 < args.test_size < 1 or args.min_rows < 0 or args.seed < 0:
        raise LockshipError("--test-size: between 0 and 1; --min-rows and --seed: 0 or more", exit_code=EXIT_USAGE)
    root = repo_root(args.repo)
    data_path = (Path(args.repo) / args.data).resolve() if not Path(args.data).is_absolute() else Path(args.data)
    if not data_path.is_file():
        raise LockshipError(f"{args.data}: no such file", exit_code=EXIT_USAGE)
    if not data_path.is_relative_to(root):
        raise LockshipError(f"{args.data}: outside the repository {root}; copy it in first", exit_code=EXIT_USAGE)
    data = data_path.relative_to(root).as_posix()
    layout = plan(root, data=data, target=args.target, test_size=args.test_size, seed=args.seed, min_rows=args.min_rows)
    for line in init(root, data, layout, force=args.force):
        print(line)
    if not args.no_hooks:
        from lockship.commands import install

        code = install.main(
            ["--repo", str(root), "--repo-url", args.repo_url, *(["--rev", args.rev] if args.rev else [])]
        )
        if code:
            return code
    print(f"next: git add -A && dvc repro && lockship serve models/serve   (in {root})")
    return 0
