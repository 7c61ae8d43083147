"""Issue 9's corpus: each pattern that stopped real DVC repositories from adopting the hooks, as its own small
real DVC project, committed and pushed through the real pre-commit framework and held against `dvc status`.

Every project installs all of lockship's hooks, as a team adopting them would, so a harmless commit
(README only) must pass whatever the pattern.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import re
import socket
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.conftest import run
from tests.hooks.conftest import use_hooks

HOOKS = ["check-lock", "check-data", "check-params", "guard-data", "check-remote"]
WRITE = "import pathlib, sys\nfor name in sys.argv[1:]:\n    pathlib.Path(name).parent.mkdir(parents=True, exist_ok=True)\n    pathlib.Path(name).write_text('made\\n')\n"  # noqa: E501


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


REPRO = ("dvc", "repro", "-q", "--all-pipelines")


def project(
    root: Path, hooks_repo: tuple[Path, str], files: dict[str, str], *, then: Sequence[tuple[str, ...]] = (REPRO,)
) -> Path:
    """A git + DVC project with these files and `then` run (`dvc repro`), committed with every lockship hook
    installed."""
    root.mkdir()
    run("git", "init", "-q", cwd=root)
    run("dvc", "init", "-q", cwd=root)
    write(root, {"write.py": WRITE, "README.md": "a project\n", **files})
    for command in then:
        run(*command, cwd=root)
    use_hooks(root, hooks_repo, HOOKS)
    run("git", "add", "-A", cwd=root)
    run("git", "commit", "-qnm", "project", cwd=root)
    return root


def commit(repo: Path, files: dict[str, str] | None = None, *, forced: tuple[str, ...] = ()) -> tuple[bool, str]:
    """Write, stage and `git commit` through the hooks; (whether the commit was made, all the hooks printed)."""
    write(repo, files or {"README.md": (repo / "README.md").read_text() + "more\n"})
    run("git", "add", "-A", cwd=repo)
    if forced:
        run("git", "add", "-f", *forced, cwd=repo)
    result = run("git", "commit", "-m", "change", cwd=repo, check=False)
    return result.returncode == 0, result.stdout + result.stderr


def dvc_status(repo: Path) -> dict[str, object]:
    status: dict[str, object] = json.loads(run("dvc", "status", "--json", cwd=repo).stdout or "{}")
    return status


def problems(output: str, hook: str) -> list[str]:
    """The lines one hook printed in pre-commit's output (between its header and the next hook's)."""
    lines, inside = [], False
    for line in output.splitlines():
        if line.startswith(("lockship ", "error: failed to push")):
            inside = line.startswith(f"lockship {hook} ")
        elif (
            inside
            and line.strip()
            and not line.startswith(("- hook id:", "- exit code:", "- duration:", "- files were"))
        ):
            lines.append(line)
    return lines


# --- item 1: templated outputs ----------------------------------------------------------------------


def test_item_1_a_templated_out_is_resolved_not_a_glob(tmp_path: Path, hooks_repo: tuple[Path, str]) -> None:
    repo = project(
        tmp_path / "repo",
        hooks_repo,
        {
            "params.yaml": "eval:\n  model_path: models/model.pkl\n",
            "dvc.yaml": "stages:\n  eval:\n    cmd: python write.py ${eval.model_path}\n    deps: [write.py]\n"
            "    outs:\n      - ${eval.model_path}\n",
        },
    )
    assert dvc_status(repo) == {}
    made, output = commit(repo)
    assert made, output
    made, output = commit(repo, {"params.yaml": "eval:\n  model_path: models/model.pkl\n# a comment\n"})
    assert made, output
    made, output = commit(repo, {"notes.txt": "x\n"}, forced=("models/model.pkl",))
    assert not made
    assert problems(output, "guard-data") == [
        "models/model.pkl: tracked by DVC (dvc.yaml:6: stage 'eval') and staged in git too; "
        "git rm --cached models/model.pkl"
    ]


# --- item 2: a directory dep that holds another stage's output, in a clone without data --------------


def test_item_2_a_stale_lock_is_caught_in_a_clone_without_data(tmp_path: Path, hooks_repo: tuple[Path, str]) -> None:
    repo = project(
        tmp_path / "repo",
        hooks_repo,
        {
            "input.txt": "1\n",
            # not copy.py: a file named like a standard module would shadow it for pre-commit itself
            "gen.py": "import os, shutil\nos.makedirs('runs/x', exist_ok=True)\n"
            "shutil.copy('input.txt', 'runs/x/in.txt')\n",
            "dvc.yaml": "stages:\n"
            "  gen:\n    cmd: python gen.py\n    deps: [input.txt, gen.py]\n    outs: [runs/x/]\n"
            "  report:\n    cmd: python write.py report.txt\n    deps: [runs/, write.py]\n    outs: [report.txt]\n",
        },
    )
    write(repo, {"input.txt": "2\n"})
    run("dvc", "repro", "-q", "-s", "gen", cwd=repo)
    run("git", "commit", "-qnam", "gen only", cwd=repo)
    assert "report" in dvc_status(repo)
    clone = tmp_path / "clone"
    run("git", "clone", "-q", repo, clone, cwd=tmp_path)
    run("pre-commit", "install", cwd=clone)
    made, output = commit(clone)
    assert not made
    assert any("report" in line for line in problems(output, "check-lock")), output


# --- item 3 (and check-params' part of item 9): every dvc.yaml, TOML params in a parent directory -----


def test_item_3_every_pipeline_and_its_toml_params_are_checked(tmp_path: Path, hooks_repo: tuple[Path, str]) -> None:
    stage = "stages:\n  fit:\n    cmd: python ../write.py model.txt\n    deps: [../write.py]\n    params:\n{}"
    repo = project(
        tmp_path / "repo",
        hooks_repo,
        {
            "params.toml": "# shared by both pipelines\n[train]\nlr = 0.1\n",
            "sub/dvc.yaml": stage.format("      - depth\n      - ../params.toml:\n          - train.lr\n")
            + "    outs: [model.txt]\n",
            "sub/params.yaml": "depth: 3\n",
            "other/dvc.yaml": stage.format("      - ../params.toml:\n          - train.lr\n")
            + "    outs: [model.txt]\n",
        },
    )
    assert dvc_status(repo) == {}
    made, output = commit(repo)  # no root dvc.yaml: check-params said `dvc.yaml: file not found`
    assert made, output

    made, output = commit(repo, {"sub/params.yaml": "width: 3\n"})
    assert not made
    assert problems(output, "check-params") == [
        "sub/dvc.yaml:6: stage 'fit': param 'depth' not found in sub/params.yaml"
    ]
    run("git", "checkout", "-q", "HEAD", "--", "sub/params.yaml", cwd=repo)

    made, output = commit(repo, {"params.toml": "[train]\nrate = 0.1\n"})
    assert not made
    assert "sub/dvc.yaml:fit" in dvc_status(repo) and "other/dvc.yaml:fit" in dvc_status(repo)
    # One line per pipeline, each naming its dvc.yaml; TOML findings carry their line.
    assert problems(output, "check-params") == [
        "other/dvc.yaml:6: stage 'fit': param 'train.lr' not found in params.toml",
        "sub/dvc.yaml:7: stage 'fit': param 'train.lr' not found in params.toml",
    ]
    made, output = commit(repo, {"params.toml": "[train]\nlr = 0.1\nbroken = [\n"})
    assert not made
    assert problems(output, "check-params") == ["params.toml:3: invalid TOML: Invalid value (at end of document)"]


def test_item_3_a_subdir_dvc_project_is_checked(tmp_path: Path, hooks_repo: tuple[Path, str]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    run("git", "init", "-q", cwd=repo)
    (repo / "proj").mkdir()
    run("dvc", "init", "-q", "--subdir", cwd=repo / "proj")
    write(
        repo / "proj",
        {
            "write.py": WRITE,
            "params.yaml": "train:\n  depth: 3\n",
            "dvc.yaml": "stages:\n  fit:\n    cmd: python write.py m.txt\n    deps: [write.py]\n"
            "    params: [train.depth]\n    outs: [m.txt]\n",
        },
    )
    run("dvc", "repro", "-q", cwd=repo / "proj")
    write(repo, {"README.md": "a monorepo\n"})
    use_hooks(repo, hooks_repo, HOOKS)
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-qnm", "project", cwd=repo)
    made, output = commit(repo)
    assert made, output
    made, output = commit(repo, {"proj/params.yaml": "train:\n  width: 3\n"})
    assert not made
    assert problems(output, "check-params") == [
        "proj/dvc.yaml:5: stage 'fit': param 'train.depth' not found in proj/params.yaml"
    ]


# --- item 4: a regenerated cache: false CSV, no schema.yaml ------------------------------------------


def test_item_4_a_regenerated_cache_false_csv_commits_without_a_schema(
    tmp_path: Path, hooks_repo: tuple[Path, str]
) -> None:
    csv = "import pathlib, sys\npathlib.Path('table.csv').write_text('a,b\\n' + sys.argv[1] + ',2\\n')\n"
    repo = project(
        tmp_path / "repo",
        hooks_repo,
        {
            "table.py": csv,
            "params.yaml": "a: 1\n",
            "dvc.yaml": "stages:\n  table:\n    cmd: python table.py ${a}\n    deps: [table.py]\n    params: [a]\n"
            "    outs:\n      - table.csv:\n          cache: false\n",
        },
    )
    write(repo, {"params.yaml": "a: 5\n"})
    run("dvc", "repro", "-q", cwd=repo)
    assert dvc_status(repo) == {}
    made, output = commit(repo, {})
    assert made, output


# --- item 5: lock entries of stages that left dvc.yaml ------------------------------------------------


def test_item_5_leftover_lock_entries_do_not_block(tmp_path: Path, hooks_repo: tuple[Path, str]) -> None:
    one = "  {0}:\n    cmd: python write.py {0}.txt\n    outs: [{0}.txt]\n"
    two = "stages:\n" + one.format("a") + one.format("b")
    repo = project(tmp_path / "repo", hooks_repo, {"dvc.yaml": two})
    write(repo, {"dvc.yaml": two.split("  b:")[0]})
    run("dvc", "repro", "-q", cwd=repo)
    assert "b:" in (repo / "dvc.lock").read_text()  # DVC keeps the entry of the stage that left
    assert dvc_status(repo) == {}
    made, output = commit(repo)
    assert made, output


# --- item 6: one dvc.yaml without its dvc.lock --------------------------------------------------------


def test_item_6_a_pipeline_without_a_lock_does_not_hide_the_others(
    tmp_path: Path, hooks_repo: tuple[Path, str]
) -> None:
    repo = project(
        tmp_path / "repo",
        hooks_repo,
        {
            "input.txt": "1\n",
            "dvc.yaml": "stages:\n  top:\n    cmd: python write.py top.txt\n    deps: [input.txt]\n"
            "    outs: [top.txt]\n",
        },
    )
    write(repo, {"new/dvc.yaml": "stages:\n  fresh:\n    cmd: python ../write.py f.txt\n    outs: [f.txt]\n"})
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-qnm", "a pipeline not yet reproduced", cwd=repo)
    made, output = commit(repo, {"input.txt": "2\n"})
    assert "top" in dvc_status(repo)
    assert not made
    assert any("'top'" in line or " top" in line for line in problems(output, "check-lock")), output


# --- item 7: check-remote, an HTTP remote that does not answer, DVC's own error, directory outputs ----


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A real HTTP server on 127.0.0.1 serving tmp_path/served: (the directory, its port)."""
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield served, server.server_address[1]
    server.shutdown()
    server.server_close()


def test_item_7_check_remote_tells_an_unreachable_remote_from_missing_data(
    tmp_path: Path, hooks_repo: tuple[Path, str], http_server: tuple[Path, int]
) -> None:
    served, port = http_server
    images = {"data/images/1.png": "one", "data/images/2.png": "two"}
    repo = project(tmp_path / "repo", hooks_repo, images, then=[("dvc", "add", "-q", "data/images")])
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    run("dvc", "remote", "add", "-q", "-d", "web", f"http://127.0.0.1:{closed}/store", cwd=repo)
    run("dvc", "remote", "add", "-q", "disk", served / "store", cwd=repo)
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-qnm", "data", cwd=repo)
    run("git", "init", "-q", "--bare", tmp_path / "origin.git", cwd=tmp_path)
    run("git", "remote", "add", "origin", tmp_path / "origin.git", cwd=repo)

    def push() -> tuple[bool, str]:
        result = run("git", "push", "-q", "origin", "main", cwd=repo, check=False)
        return result.returncode == 0, result.stdout + result.stderr

    pushed, output = push()
    assert not pushed
    assert problems(output, "check-remote") == [
        f"http://127.0.0.1:{closed}/store: cannot reach DVC remote 'web': [Errno 111] Connection refused"
    ]
    run("dvc", "remote", "modify", "web", "url", f"http://127.0.0.1:{port}/store", cwd=repo)
    run("git", "commit", "-qnam", "the remote's real address", cwd=repo)
    pushed, output = push()
    assert not pushed
    assert problems(output, "check-remote") == [
        "data/images: 3 object(s) of directory not in DVC remote 'web'",
        "run `lockship check-remote --push` or `dvc push -r web` to upload what is cached",
    ]
    run("dvc", "push", "-q", "-r", "disk", cwd=repo)
    pushed, output = push()
    assert pushed, output

    if importlib.util.find_spec("dvc_webdav") is None:  # DVC's own error, not its `Having any troubles?` footer
        run("dvc", "remote", "add", "-q", "-d", "dav", f"webdavs://127.0.0.1:{closed}/store", cwd=repo)
        run("git", "commit", "-qnam", "a webdav remote", cwd=repo)
        pushed, output = push()
        assert not pushed
        assert problems(output, "check-remote") == [
            f"webdavs://127.0.0.1:{closed}/store: cannot reach DVC remote 'dav': unexpected error - webdavs is "
            "supported, but requires 'dvc-webdav' to be installed: No module named 'dvc_webdav'"
        ]


# --- item 8: a DVC 1 lock file -------------------------------------------------------------------------


def test_item_8_a_dvc_1_lock_is_named_with_its_upgrade(tmp_path: Path, hooks_repo: tuple[Path, str]) -> None:
    repo = project(
        tmp_path / "repo",
        hooks_repo,
        {
            "dvc.yaml": "stages:\n  a:\n    cmd: python write.py a.txt\n    outs: [a.txt]\n",
            "dvc.lock": "a:\n  cmd: python write.py a.txt\n  outs:\n  - path: a.txt\n"
            "    md5: 5f0bd1d3a0f5d4e1ba62a0d2a8bfa2f7\n",
        },
        then=(),
    )
    made, output = commit(repo)
    assert not made
    lines = problems(output, "check-lock")
    assert len(lines) == 1 and "DVC 1" in lines[0], output
    assert re.search(r"`[^`]*\bdvc \w+[^`]*`", lines[0]), output  # the command that upgrades it


# --- item 9: check-lock's messages ---------------------------------------------------------------------


def test_item_9_check_lock_names_hashes_and_paths_plainly(tmp_path: Path, hooks_repo: tuple[Path, str]) -> None:
    # Two contents whose md5s share their first 8 hex digits (4ddbbd68).
    repo = project(
        tmp_path / "repo",
        hooks_repo,
        {
            "input.txt": "v16125\n",
            "dvc.yaml": "stages:\n  a:\n    cmd: python write.py models/x.joblib\n    deps: [input.txt]\n"
            "    outs: [./models/x.joblib]\n",
        },
    )
    made, output = commit(repo, {"input.txt": "v66322\n"})
    assert not made
    text = "\n".join(problems(output, "check-lock"))
    changed = re.search(r"(\w+) -> (\w+)", text)
    assert changed and changed[1] != changed[2], text
    write(repo, {"input.txt": "v16125\n"})
    write(repo, {"dvc.yaml": (repo / "dvc.yaml").read_text().replace("x.joblib]", "y.joblib]")})
    made, output = commit(repo, {})
    assert not made and "./models" not in output and "models/" in output, output
