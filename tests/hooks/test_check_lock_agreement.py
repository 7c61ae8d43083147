"""check-lock agrees with the real `dvc status` on which stages are stale, across a corpus of mutations.

One real DVC project (foreach and matrix stages, vars, a second params file, a directory dep, a
directory out, a frozen stage, a `.dvc`-tracked input, stage outputs used as deps and a dvc.yaml in
a subdirectory) is reproduced and committed once; each case copies it, changes it as a commit would
(`git add -A`), then runs both and compares. Where check-lock is stricter on purpose, the case says so.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from lockship.hooks.check_lock import check
from tests.conftest import run, write_files
from tests.hooks.conftest import use_hooks

RUNNER = """\
import hashlib, os, sys
# run.py OUT [--dir] INPUT... : writes a digest of its arguments and inputs, so any change shows.
out, args = sys.argv[1], sys.argv[2:]
digest = hashlib.md5(" ".join(args).encode())
for name in args:
    if os.path.isfile(name):
        digest.update(open(name, "rb").read())
    elif os.path.isdir(name):
        for base, _, files in sorted(os.walk(name)):
            for f in sorted(files):
                digest.update(open(os.path.join(base, f), "rb").read())
if "--dir" in args:
    os.makedirs(out, exist_ok=True)
    for part in ("a", "b"):
        open(os.path.join(out, part + ".txt"), "w").write(part + digest.hexdigest() + "\\n")
else:
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    open(out, "w").write(digest.hexdigest() + "\\n")
"""

DVC_YAML = """\
vars:
  - config/model.yaml
  - grid_opts: [sgd, adam]
stages:
  prep:
    cmd: python src/run.py out/prep.txt src/prep.py data/raw.csv --name ${prep.name}
    deps: [src/prep.py, data/raw.csv]
    params: [prep]
    outs: [out/prep.txt]
  featurize:
    cmd: python src/run.py out/features --dir out/prep.txt src/util
    deps: [out/prep.txt, src/util]
    outs: [out/features]
  train:
    foreach: ${models}
    do:
      cmd: python src/run.py out/model-${key}.txt src/train.py out/features ${item.size}
      deps: [src/train.py, out/features]
      params:
        - train.seed
        - models.${key}.size
        - config/model.yaml: [model.depth]
      outs: ["out/model-${key}.txt"]
  grid:
    matrix:
      opt: ${grid_opts}
      lr: [0.1, 0.01]
    cmd: python src/run.py out/grid-${item.opt}-${item.lr}.txt src/train.py ${model.act}
    deps: [src/train.py]
    params:
      - config/model.yaml: [model.act]
    outs: ["out/grid-${item.opt}-${item.lr}.txt"]
  folds:
    foreach: [[1, 2], [3, 4]]
    do:
      cmd: python src/run.py out/fold-${item[0]}.txt src/folds.py ${item[1]}
      deps: [src/folds.py]
      outs: ["out/fold-${item[0]}.txt"]
  report:
    cmd: python src/run.py metrics.json out/model-small.txt out/grid-adam-0.1.txt
    deps: [out/model-small.txt, out/grid-adam-0.1.txt]
    metrics:
      - metrics.json:
          cache: false
  peek:
    cmd: python src/run.py out/peek.txt out/features/a.txt
    deps: [out/features/a.txt]
    outs: [out/peek.txt]
  bundle:
    cmd: python src/run.py bundle.txt out
    deps: [out]
    outs: [bundle.txt]
  pinned:
    cmd: python src/run.py out/pinned.txt src/pinned.py
    deps: [src/pinned.py]
    params: [train.lr]
    outs: [out/pinned.txt]
"""

SUB_DVC_YAML = """\
stages:
  subtrain:
    cmd: python ../src/run.py result.txt code.py ../out/prep.txt ${sub.level}
    deps: [code.py, ../out/prep.txt]
    params: [sub.level]
    outs: [result.txt]
"""

FILES = {
    "src/run.py": RUNNER,
    "src/prep.py": "# prep\n",
    "src/train.py": "# train\n",
    "src/folds.py": "# folds\n",
    "src/pinned.py": "# pinned\n",
    "src/util/__init__.py": "",
    "src/util/helpers.py": "# helpers\n",
    "src/util/deep/more.py": "# more\n",
    "params.yaml": textwrap.dedent("""\
        prep:
          scale: 2
          name: alpha
          rate: 1e-3
        train:
          seed: 42
          lr: 1e-3
          unused: 1
        models:
          small: {size: 1}
          large: {size: 3}
        """),
    "config/model.yaml": "model:\n  depth: 3\n  act: relu\n  width: 8\n",
    "dvc.yaml": DVC_YAML,
    "sub/dvc.yaml": SUB_DVC_YAML,
    "sub/params.yaml": "sub:\n  level: 1\n",
    "sub/code.py": "# sub\n",
    ".dvcignore": "*.log\n",
    "data/raw.csv": "a,b\n1,2\n",
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reproduced and committed reference project, built once."""
    repo = tmp_path_factory.mktemp("agreement") / "base"
    write_files(repo, FILES)
    run("git", "init", "-q", cwd=repo)
    run("dvc", "init", "-q", cwd=repo)
    run("dvc", "add", "-q", "data/raw.csv", cwd=repo)
    run("dvc", "repro", "-q", cwd=repo)
    run("dvc", "repro", "-q", "sub/dvc.yaml", cwd=repo)
    # Frozen after its first run: `dvc repro` never runs a frozen stage.
    edit(repo, "dvc.yaml", "  pinned:\n", "  pinned:\n    frozen: true\n")
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-qm", "reproduced", cwd=repo)
    return repo


def dvc_stale(repo: Path) -> set[str]:
    """Stages `dvc status --json` reports for every dvc.yaml (the .dvc file entries left out)."""
    status = json.loads(run("dvc", "status", "--json", cwd=repo).stdout or "{}")
    return {name for name in status if not name.endswith(".dvc")}


def lock_stale(repo: Path) -> set[str]:
    return {problem.address for problem in check(str(repo)).stale if not problem.orphan}


def edit(repo: Path, name: str, old: str, new: str) -> None:
    path = repo / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def append(repo: Path, name: str, text: str) -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(text)


Mutation = Callable[[Path], None]


def _repro_prep_only(repo: Path) -> None:
    edit(repo, "params.yaml", "name: alpha", "name: gamma")
    run("dvc", "repro", "-q", "--single-item", "prep", cwd=repo)


def _update_raw(repo: Path) -> None:
    append(repo, "data/raw.csv", "3,4\n")
    run("dvc", "add", "-q", "data/raw.csv", cwd=repo)


def _repro_featurize_only(repo: Path) -> None:
    append(repo, "src/util/helpers.py", "# v2\n")
    run("dvc", "repro", "-q", "--single-item", "featurize", cwd=repo)


def _full_repro(repo: Path) -> None:
    append(repo, "src/train.py", "# tuned\n")
    edit(repo, "params.yaml", "seed: 42", "seed: 7")
    run("dvc", "repro", "-q", cwd=repo)


# (case id, mutation, stages both must report)
CORPUS: list[tuple[str, Mutation, set[str]]] = [
    ("clean", lambda r: None, set()),
    ("code dep edited", lambda r: append(r, "src/prep.py", "x = 1\n"), {"prep"}),
    ("whole params section value", lambda r: edit(r, "params.yaml", "scale: 2", "scale: 3"), {"prep"}),
    (
        "key added to a whole tracked section",
        lambda r: edit(r, "params.yaml", "  name: alpha\n", "  name: alpha\n  extra: 1\n"),
        {"prep"},
    ),
    ("var used in cmd and params", lambda r: edit(r, "params.yaml", "name: alpha", "name: beta"), {"prep"}),
    (
        "param read by every foreach stage",
        lambda r: edit(r, "params.yaml", "seed: 42", "seed: 43"),
        {"train@small", "train@large"},
    ),
    (
        "param read by one foreach stage",
        lambda r: edit(r, "params.yaml", "large: {size: 3}", "large: {size: 4}"),
        {"train@large"},
    ),
    ("unread param", lambda r: edit(r, "params.yaml", "unused: 1", "unused: 2"), set()),
    ("equal value written differently", lambda r: edit(r, "params.yaml", "rate: 1e-3", "rate: 0.001"), set()),
    (
        "second params file, foreach",
        lambda r: edit(r, "config/model.yaml", "depth: 3", "depth: 4"),
        {"train@small", "train@large"},
    ),
    (
        "second params file, matrix via vars",
        lambda r: edit(r, "config/model.yaml", "act: relu", "act: tanh"),
        {"grid@sgd-0.1", "grid@sgd-0.01", "grid@adam-0.1", "grid@adam-0.01"},
    ),
    ("second params file, unread key", lambda r: edit(r, "config/model.yaml", "width: 8", "width: 9"), set()),
    ("file edited in a directory dep", lambda r: append(r, "src/util/helpers.py", "y = 2\n"), {"featurize"}),
    ("file added deep in a directory dep", lambda r: append(r, "src/util/deep/new.py", "z = 3\n"), {"featurize"}),
    ("file deleted from a directory dep", lambda r: (r / "src/util/deep/more.py").unlink(), {"featurize"}),
    ("dvcignored file in a directory dep", lambda r: append(r, "src/util/debug.log", "noise\n"), set()),
    (".dvc-tracked input updated with dvc add", _update_raw, {"prep"}),
    ("stage output used as dep re-locked upstream", _repro_prep_only, {"featurize", "bundle", "sub/dvc.yaml:subtrain"}),
    (
        "directory output re-locked upstream",
        _repro_featurize_only,
        {"train@small", "train@large", "peek", "bundle"},
    ),
    ("frozen stage dep edited", lambda r: append(r, "src/pinned.py", "# more\n"), set()),
    ("frozen stage param changed", lambda r: edit(r, "params.yaml", "lr: 1e-3", "lr: 0.1"), set()),
    (
        "frozen stage cmd changed",
        lambda r: edit(r, "dvc.yaml", "out/pinned.txt src/pinned.py", "out/pinned.txt  src/pinned.py"),
        {"pinned"},
    ),
    (
        "cmd changed",
        lambda r: edit(r, "dvc.yaml", "src/folds.py ${item[1]}", "src/folds.py ${item[1]} --fast"),
        {"folds@0", "folds@1"},
    ),
    ("foreach over a list of lists, one dep", lambda r: append(r, "src/folds.py", "# k\n"), {"folds@0", "folds@1"}),
    (
        "new foreach item",
        lambda r: edit(r, "params.yaml", "  large: {size: 3}\n", "  large: {size: 3}\n  huge: {size: 9}\n"),
        {"train@huge"},
    ),
    (
        "new matrix value",
        lambda r: edit(r, "dvc.yaml", "lr: [0.1, 0.01]", "lr: [0.1, 0.01, 0.5]"),
        {"grid@sgd-0.5", "grid@adam-0.5"},
    ),
    (
        "matrix value from vars",
        lambda r: edit(r, "dvc.yaml", "grid_opts: [sgd, adam]", "grid_opts: [sgd, adam, rms]"),
        {"grid@rms-0.1", "grid@rms-0.01"},
    ),
    (
        "new stage",
        lambda r: append(
            r, "dvc.yaml", "  extra:\n    cmd: python src/run.py out/extra.txt\n    outs: [out/extra.txt]\n"
        ),
        {"extra"},
    ),
    (
        "dep added to a stage",
        lambda r: edit(r, "dvc.yaml", "deps: [src/folds.py]", "deps: [src/folds.py, src/prep.py]"),
        {"folds@0", "folds@1"},
    ),
    (
        "out added to a stage",
        lambda r: edit(r, "dvc.yaml", "outs: [out/prep.txt]", "outs: [out/prep.txt, out/prep2.txt]"),
        {"prep"},
    ),
    ("git-tracked metric edited", lambda r: append(r, "metrics.json", " "), {"report"}),
    ("subdirectory dvc.yaml code", lambda r: append(r, "sub/code.py", "# v2\n"), {"sub/dvc.yaml:subtrain"}),
    (
        "subdirectory params.yaml (wdir)",
        lambda r: edit(r, "sub/params.yaml", "level: 1", "level: 2"),
        {"sub/dvc.yaml:subtrain"},
    ),
    ("param removed", lambda r: edit(r, "params.yaml", "  seed: 42\n", ""), {"train@small", "train@large"}),
    ("reproduced after changes", _full_repro, set()),
]


@pytest.mark.parametrize(("mutation", "expected"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_agrees_with_dvc_status(base: Path, tmp_path: Path, mutation: Mutation, expected: set[str]) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(base, repo, symlinks=True)
    mutation(repo)
    run("git", "add", "-A", cwd=repo)
    assert dvc_stale(repo) == expected, "the corpus expectation is wrong about DVC itself"
    assert lock_stale(repo) == expected


def _remove_stage(repo: Path) -> None:
    text = (repo / "dvc.yaml").read_text()
    start, end = text.index("  folds:\n"), text.index("  report:\n")
    (repo / "dvc.yaml").write_text(text[:start] + text[end:])


# (case id, mutation, stale by dvc status, stale by check-lock, orphaned lock entries by check-lock)
DIVERGENT: list[tuple[str, Mutation, set[str], set[str], set[str]]] = [
    # DVC ignores lock entries nobody reads; a commit that leaves them is not reproducible as locked.
    ("stage removed from dvc.yaml", _remove_stage, set(), set(), {"folds@0", "folds@1"}),
    (
        "out removed from a stage",
        lambda r: edit(r, "dvc.yaml", "outs: [out/prep.txt]", "outs: []"),
        set(),
        {"prep"},
        set(),
    ),
    # A gitignored output edited in the work tree is not part of the commit: only DVC sees it.
    (
        "cached output edited in the work tree only",
        lambda r: append(r, "out/prep.txt", "hand edit\n"),
        {"prep", "featurize", "bundle", "sub/dvc.yaml:subtrain"},
        set(),
        set(),
    ),
]


@pytest.mark.parametrize(
    ("mutation", "by_dvc", "by_hook", "orphans"), [c[1:] for c in DIVERGENT], ids=[c[0] for c in DIVERGENT]
)
def test_deliberate_differences_from_dvc_status(
    base: Path, tmp_path: Path, mutation: Mutation, by_dvc: set[str], by_hook: set[str], orphans: set[str]
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(base, repo, symlinks=True)
    mutation(repo)
    run("git", "add", "-A", cwd=repo)
    assert dvc_stale(repo) == by_dvc
    problems = check(str(repo)).stale
    assert {p.address for p in problems if not p.orphan} == by_hook
    assert {p.stage for p in problems if p.orphan} == orphans


@pytest.fixture
def clone(base: Path, tmp_path: Path) -> Path:
    """A git clone of the reproduced project: no DVC cache, no outputs, nothing pulled."""
    target = tmp_path / "clone"
    run("git", "clone", "-q", str(base), str(target), cwd=tmp_path)
    assert not (target / "out" / "prep.txt").exists()
    assert not (target / ".dvc" / "cache").exists()
    return target


def test_clone_without_data_passes_clean_and_flags_real_changes(clone: Path) -> None:
    assert dvc_stale(clone), "DVC itself cannot tell without the data"
    assert check(str(clone)).stale == []
    append(clone, "src/train.py", "# retuned\n")
    edit(clone, "config/model.yaml", "depth: 3", "depth: 5")
    run("git", "add", "-A", cwd=clone)
    problems = [str(p) for p in check(str(clone)).stale]
    grid = {f"grid@{opt}-{lr}" for opt in ("sgd", "adam") for lr in ("0.1", "0.01")}
    assert {p.address for p in check(str(clone)).stale} == {"train@small", "train@large", *grid}
    assert "config/model.yaml:2: stage 'train@small' is stale: param model.depth changed: 3 -> 5" in problems
    assert any(
        p.startswith("dvc.lock: stage 'grid@sgd-0.1' is stale: dep src/train.py changed (md5 ") for p in problems
    )


def test_precommit_blocks_stale_commit_in_clone_without_data(clone: Path, hooks_repo: tuple[Path, str]) -> None:
    use_hooks(clone, hooks_repo, ["check-lock"])
    run("git", "add", ".pre-commit-config.yaml", cwd=clone)
    run("git", "commit", "-qm", "use lockship hooks", cwd=clone)

    append(clone, "README.md", "notes\n")
    run("git", "add", "README.md", cwd=clone)
    run("git", "commit", "-qm", "docs only", cwd=clone)

    edit(clone, "params.yaml", "large: {size: 3}", "large: {size: 5}")
    run("git", "add", "params.yaml", cwd=clone)
    blocked = run("git", "commit", "-qm", "retune without repro", cwd=clone, check=False)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0
    assert "params.yaml:11: stage 'train@large' is stale: param models.large.size changed: 3 -> 5" in output
    assert "dvc.lock: stage 'train@large' is stale: cmd changed" in output
    assert "train@small" not in output
    assert run("git", "log", "-1", "--format=%s", cwd=clone).stdout.strip() == "docs only"
