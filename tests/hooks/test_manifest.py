"""`.pre-commit-hooks.yaml`, pyproject's console scripts, the `lockship` CLI and the README agree hook for hook."""

from __future__ import annotations

import importlib
import re
import tomllib

import pytest
from pre_commit.clientlib import load_manifest

from lockship.cli import COMMANDS
from tests.conftest import REPO_ROOT

MANIFEST = load_manifest(str(REPO_ROOT / ".pre-commit-hooks.yaml"))
HOOKS = {hook["id"]: hook for hook in MANIFEST}
SCRIPTS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
PRE_COMMIT = {"check-lock", "check-data", "check-params", "guard-data"}
PRE_PUSH = {"gate-metrics", "check-remote"}


def readme_rows() -> dict[str, str]:
    """hook id -> stage, from the table of the README's `## Git hooks` section."""
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split("\n## Git hooks\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| ([\w-]+) \|", section, flags=re.MULTILINE)
    assert len(rows) == len(dict(rows)), "a hook has two README rows"
    return dict(rows)


def test_the_manifest_declares_the_six_hooks_of_the_issue_in_their_stages() -> None:
    assert set(HOOKS) == PRE_COMMIT | PRE_PUSH
    assert len(MANIFEST) == len(HOOKS)
    for hook_id, hook in HOOKS.items():
        assert hook["stages"] == ["pre-push" if hook_id in PRE_PUSH else "pre-commit"], hook_id
        assert hook["language"] == "python"
        assert hook["minimum_pre_commit_version"] == "3.2.0"


def test_one_hook_one_console_script_one_readme_row() -> None:
    scripts = {name.removeprefix("lockship-") for name in SCRIPTS if name.startswith("lockship-")}
    assert scripts == set(HOOKS)
    assert {hook["entry"] for hook in MANIFEST} == {f"lockship-{hook_id}" for hook_id in HOOKS}
    rows = readme_rows()
    assert set(rows) == set(HOOKS)
    assert {hook_id: HOOKS[hook_id]["stages"][0] for hook_id in HOOKS} == rows


@pytest.mark.parametrize("hook_id", sorted(PRE_COMMIT | PRE_PUSH))
def test_every_entry_is_a_script_whose_main_exists_and_matches_the_cli(hook_id: str) -> None:
    target = SCRIPTS[HOOKS[hook_id]["entry"]]
    module_name, _, function = target.partition(":")
    assert function == "main"
    module = importlib.import_module(module_name)
    assert callable(module.main)
    assert COMMANDS[(hook_id,)][0] == module_name


def test_hooks_that_read_the_whole_repo_do_not_take_file_names() -> None:
    for hook_id in ("check-lock", "check-params", "gate-metrics", "check-remote"):
        assert HOOKS[hook_id]["pass_filenames"] is False, hook_id
    for hook_id in ("check-data", "guard-data"):
        assert HOOKS[hook_id]["pass_filenames"] is True, hook_id
    assert re.search(HOOKS["check-data"]["files"], "data/train.csv")
    assert re.search(HOOKS["check-params"]["files"], "params.yaml")
    assert re.search(HOOKS["check-params"]["files"], "dvc.yaml")
