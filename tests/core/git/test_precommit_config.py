"""`.pre-commit-config.yaml` edited as text: entries and comments kept, lockship's entry added, updated, removed."""

from __future__ import annotations

import pytest
import yaml

from lockship.core.errors import LockshipError
from lockship.core.git.precommit_config import HEADER, add_lockship, remove_lockship

USER = """\
# my hooks
repos:
  - repo: https://github.com/astral-sh/ruff-pre-commit  # linter
    rev: v0.6.0
    hooks:
      - id: ruff
"""


def test_add_lockship_handles_an_empty_flow_list_and_other_indentation() -> None:
    text, _ = add_lockship("repos: []  # none yet\n", url="u/lockship", rev="v1", hook_ids=["check-lock"], path="c")
    assert yaml.safe_load(text) == {"repos": [{"repo": "u/lockship", "rev": "v1", "hooks": [{"id": "check-lock"}]}]}
    text, _ = add_lockship(
        "repos:\n-   repo: a\n    rev: b\n    hooks:\n    -   id: q\n", url="u", rev="v1", hook_ids=["x"], path="c"
    )
    assert yaml.safe_load(text)["repos"][1] == {"repo": "u", "rev": "v1", "hooks": [{"id": "x"}]}


def test_add_then_remove_gives_back_the_text() -> None:
    added, changes = add_lockship(USER, url="https://x/lockship.git", rev="v2", hook_ids=["check-lock"], path="c")
    assert added.startswith(USER) and changes == ["c: added lockship (https://x/lockship.git @ v2): check-lock"]
    assert add_lockship(added, url="https://x/lockship.git", rev="v2", hook_ids=["check-lock"], path="c") == (added, [])
    assert remove_lockship(added, url="https://x/lockship", path="c") == (USER, 1, 1)


def test_a_created_config_is_removed_whole_and_a_last_entry_leaves_an_empty_list() -> None:
    created, _ = add_lockship(None, url="u/lockship", rev="v1", hook_ids=["check-lock"], path="c")
    assert created.startswith(HEADER)
    assert remove_lockship(created, url="u/lockship", path="c") == (None, 1, 0)
    text, removed, left = remove_lockship("# mine\n" + created.removeprefix(HEADER), url="u/lockship", path="c")
    assert (text, removed, left) == ("# mine\nrepos: []\n", 1, 0)


def test_an_entry_of_only_lockship_hook_ids_is_lockship_under_any_url() -> None:
    text = "repos:\n- repo: https://mirror/ls\n  rev: v1\n  hooks:\n  - id: gate-metrics\n"
    assert remove_lockship(text, url="u/lockship", path="c")[1:] == (1, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("repos: [\n", "c:2:1: invalid YAML"),
        ("- a\n", "c:1: expected a mapping with a 'repos' list"),
        ("repos: 3\n", "c:1: repos: expected a list"),
    ],
)
def test_bad_configs_name_their_line(text: str, message: str) -> None:
    with pytest.raises(LockshipError) as error:
        add_lockship(text, url="u", rev="v1", hook_ids=["check-lock"], path="c")
    assert error.value.problems[0].startswith(message)
