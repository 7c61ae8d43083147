"""Lock entries that DVC keeps for stages gone from dvc.yaml: a warning on commit, and `lockship clean-lock`.

DVC's `repro` keeps them and `dvc status` calls the project clean, so a team that installs check-lock
must still be able to commit; `lockship clean-lock` removes them and touches nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from lockship.hooks.check_lock import main
from tests.conftest import run
from tests.conftest import write_files as write
from tests.hooks.conftest import use_hooks

STAGES = """\
stages:
  a:
    cmd: python -c "open('a.txt', 'w').write(open('in.txt').read())"
    deps: [in.txt]
    outs: [a.txt]
  b:
    cmd: python -c "open('b.txt', 'w').write(open('a.txt').read())"
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: python -c "open('c.txt', 'w').write('c')"
    outs: [c.txt]
  d:
    cmd: python -c "open('d.txt', 'w').write(open('a.txt').read())"
    deps: [a.txt]
    outs: [d.txt]
"""
SUB = "stages:\n  s:\n    cmd: python -c \"open('s.txt', 'w').write('s')\"\n    outs: [s.txt]\n"


def dvc_stale(repo: Path) -> dict[str, object]:
    status: dict[str, object] = json.loads(run("dvc", "status", "--json", cwd=repo).stdout or "{}")
    return status


def test_leftover_entries_warn_on_commit_and_clean_lock_removes_only_them(
    dvc_repo: Path, hooks_repo: tuple[Path, str]
) -> None:
    write(dvc_repo, {"dvc.yaml": STAGES, "in.txt": "1\n", "sub/dvc.yaml": SUB})
    run("dvc", "repro", "-q", cwd=dvc_repo)
    run("dvc", "repro", "-q", "sub/dvc.yaml", cwd=dvc_repo)
    # Stages b and c leave dvc.yaml, and sub/ its dvc.yaml; DVC's repro keeps their lock entries.
    text = STAGES.replace(STAGES[STAGES.index("  b:") : STAGES.index("  d:")], "")
    write(dvc_repo, {"dvc.yaml": text, "in.txt": "2\n"})
    (dvc_repo / "sub" / "dvc.yaml").unlink()
    run("dvc", "repro", "-q", cwd=dvc_repo)
    assert set(yaml.safe_load((dvc_repo / "dvc.lock").read_text())["stages"]) == {"a", "b", "c", "d"}
    assert dvc_stale(dvc_repo) == {}
    run("git", "add", "-A", cwd=dvc_repo)
    run("git", "commit", "-qm", "stages b, c and sub/ removed", cwd=dvc_repo)
    use_hooks(dvc_repo, hooks_repo, ["check-lock"])

    before = (dvc_repo / "dvc.lock").read_text()
    lines = before.splitlines()
    first, end = lines.index("  b:"), lines.index("  d:")  # DVC keeps the entries in their old order
    write(dvc_repo, {"README.md": "notes\n"})
    run("git", "add", "-A", cwd=dvc_repo)
    made = run("git", "commit", "-m", "docs only", cwd=dvc_repo, check=False)
    output = made.stdout + made.stderr
    assert made.returncode == 0, output
    assert (
        f"dvc.lock:{first + 1}: warning: 2 entries of stages no longer in dvc.yaml ('b', 'c'); "
        "`lockship clean-lock` removes them (check-lock --strict blocks on them)"
    ) in output
    assert "sub/dvc.lock:3: warning: 1 entry of stages no longer in sub/dvc.yaml ('s')" in output
    assert output.count("warning:") == 2
    assert main(["--repo", str(dvc_repo), "--strict"]) == 1

    cleaned = run("lockship", "clean-lock", cwd=dvc_repo)
    assert cleaned.stdout.splitlines() == [
        "dvc.lock: removed 2 entries ('b', 'c') of stages not in dvc.yaml",
        "sub/dvc.lock: removed the file: 1 entry ('s'), none of a stage in sub/dvc.yaml",
        "next: git add dvc.lock sub/dvc.lock",
    ]
    after = (dvc_repo / "dvc.lock").read_text()
    assert after == "".join(before.splitlines(keepends=True)[:first] + before.splitlines(keepends=True)[end:])
    assert not (dvc_repo / "sub" / "dvc.lock").exists()
    assert dvc_stale(dvc_repo) == {}
    assert main(["--repo", str(dvc_repo), "--strict"]) == 0
    assert run("lockship", "clean-lock", cwd=dvc_repo).stdout == "no leftover lock entries\n"

    run("git", "add", "-A", cwd=dvc_repo)
    made = run("git", "commit", "-m", "clean-lock", cwd=dvc_repo, check=False)
    assert made.returncode == 0
    assert "warning" not in made.stdout + made.stderr
