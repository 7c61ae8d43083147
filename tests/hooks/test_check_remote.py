"""check-remote: real DVC projects with a real local-directory DVC remote, `main` and real pushes through pre-commit."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockship.core.dvc.remote import needed_objects
from lockship.core.errors import LockshipError
from lockship.hooks import check_remote
from lockship.hooks.check_remote import referenced_outputs
from tests.conftest import run
from tests.hooks.conftest import outside_git, use_hooks

TRAIN = (
    "import pathlib\npathlib.Path('model.bin').write_text('weights')\npathlib.Path('metrics.json').write_text('{}')\n"
)
DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps:
      - train.py
      - data/raw.csv
    outs:
      - model.bin
    metrics:
      - metrics.json:
          cache: false
"""


def objects(store: Path) -> set[str]:
    return {str(path.relative_to(store)) for path in store.rglob("*") if path.is_file()}


def snapshot(repo: Path, store: Path) -> tuple[str, set[str]]:
    """What a check must leave untouched: git's view of the repo and the remote's objects."""
    listed = run("git", "status", "--porcelain", "--ignored", cwd=repo).stdout
    return listed + run("git", "for-each-ref", cwd=repo).stdout, objects(store) if store.exists() else set()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per module (DVC is slow to start): a DVC project with a file, a directory and a stage
    output, committed and git-pushed to a bare `origin`, its data not DVC-pushed. Both remotes are
    relative paths, so a copy of the folder is a self-contained world."""
    root = tmp_path_factory.mktemp("check-remote")
    repo = root / "repo"
    repo.mkdir()
    run("git", "init", "-q", cwd=repo)
    run("dvc", "init", "-q", cwd=repo)
    (repo / "data" / "images").mkdir(parents=True)
    (repo / "data" / "raw.csv").write_text("a,b\n1,2\n")
    (repo / "data" / "images" / "1.png").write_text("one")
    (repo / "data" / "images" / "2.png").write_text("two")
    (repo / "train.py").write_text(TRAIN)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    run("dvc", "add", "-q", "data/raw.csv", "data/images", cwd=repo)
    run("dvc", "repro", "-q", cwd=repo)
    run("dvc", "remote", "add", "-q", "-d", "store", "../store", cwd=repo)
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-qm", "data and pipeline", cwd=repo)
    run("git", "init", "-q", "--bare", root / "origin.git", cwd=root)
    run("git", "remote", "add", "origin", "../origin.git", cwd=repo)
    run("git", "push", "-q", "-u", "origin", "main", cwd=repo)
    return root


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    """A private copy of the template: tmp_path/repo, tmp_path/origin.git and (not yet created) tmp_path/store."""
    shutil.copytree(template, tmp_path, dirs_exist_ok=True, symlinks=True)
    return tmp_path / "repo"


@pytest.fixture
def in_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(project)
    return project


def test_missing_outputs_are_listed_then_pushed_and_pullable(
    in_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(in_project, tmp_path / "store")
    assert check_remote.main([]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"../../store: cannot reach DVC remote 'store': {tmp_path / 'store'} does not exist"]
    (tmp_path / "store").mkdir()
    assert check_remote.main([]) == 1
    err = capsys.readouterr().err.splitlines()
    assert sorted(line.split(" (")[0] for line in err[:-1]) == ["data/images", "data/raw.csv", "model.bin"]
    assert "3 object(s) of directory" in next(line for line in err if line.startswith("data/images"))
    assert err[-1] == "run `lockship check-remote --push` or `dvc push -r store` to upload what is cached"
    assert "metrics.json" not in "\n".join(err)  # cache: false never reaches a remote
    assert snapshot(in_project, tmp_path / "store")[0] == before[0]
    assert objects(tmp_path / "store") == set()

    assert check_remote.main(["--push"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "check-remote: uploaded 5 object(s), 151 bytes, to 'store'",
        "check-remote: all 3 DVC outputs are in remote 'store'",
    ]
    assert len(objects(tmp_path / "store")) == 5  # raw.csv, model.bin, images' listing and its 2 files
    assert all(name.startswith("files/md5/") for name in objects(tmp_path / "store"))
    assert check_remote.main([]) == 0

    teammate = tmp_path / "teammate"
    run("git", "clone", "-q", tmp_path / "origin.git", teammate, cwd=tmp_path)
    run("dvc", "pull", "-q", cwd=teammate)
    assert (teammate / "model.bin").read_text() == "weights"
    assert (teammate / "data" / "images" / "2.png").read_text() == "two"


def test_a_clone_whose_data_was_never_pulled(in_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("dvc", "push", "-q", cwd=in_project)
    clone = tmp_path / "clone"
    run("git", "clone", "-q", tmp_path / "origin.git", clone, cwd=tmp_path)
    monkeypatch.chdir(clone)
    assert not (clone / "model.bin").exists() and not (clone / ".dvc" / "cache").exists()
    assert check_remote.main([]) == 0
    lost = next(name for name in objects(tmp_path / "store") if not name.endswith(".dir"))
    (tmp_path / "store" / lost).unlink()
    assert check_remote.main(["--push"]) == 1  # nothing to push it from
    assert not (clone / ".dvc" / "cache").exists()


def test_older_pushed_commits_count_too(
    in_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run("dvc", "push", "-q", cwd=in_project)
    base = run("git", "rev-parse", "HEAD", cwd=in_project).stdout.strip()
    for content in ("a,b\n3,4\n", "a,b\n5,6\n"):
        (in_project / "data" / "raw.csv").write_text(content)
        run("dvc", "add", "-q", "data/raw.csv", cwd=in_project)
        run("git", "commit", "-qam", "new data", cwd=in_project)
    run("dvc", "push", "-q", "-r", "store", "data/raw.csv.dvc", cwd=in_project)  # only the latest version
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", base)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", run("git", "rev-parse", "HEAD", cwd=in_project).stdout.strip())
    assert check_remote.main([]) == 1
    [line, _] = capsys.readouterr().err.splitlines()
    middle = run("git", "rev-parse", "--short=7", "HEAD~1", cwd=in_project).stdout.strip()
    assert line.startswith(f"data/raw.csv (data/raw.csv.dvc@{middle}): file ")
    assert check_remote.main(["--push"]) == 0


def test_other_remote_types_go_through_the_dvc_cli(
    in_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_remote.main(["--use-dvc"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"../../store: cannot reach DVC remote 'store': {tmp_path / 'store'} does not exist"
    ]
    (tmp_path / "store").mkdir()
    assert check_remote.main(["--use-dvc"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "data/images: 3 object(s) of directory not in DVC remote 'store'",
        "data/raw.csv: file not in DVC remote 'store'",
        "model.bin: file not in DVC remote 'store'",
        "run `lockship check-remote --push` or `dvc push -r store` to upload what is cached",
    ]
    assert check_remote.main(["--use-dvc", "--push"]) == 0
    assert check_remote.main([]) == 0  # what dvc pushed is where lockship looks


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_store(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A real HTTP server on 127.0.0.1 serving tmp_path/served: (the directory, the remote's URL)."""
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/store"
    server.shutdown()
    server.server_close()


def test_an_http_remote_tells_missing_outputs_from_a_server_that_does_not_answer(
    in_project: Path, http_store: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 9 item 7: DVC calls every object of an unreachable HTTP remote merely "new".
    served, url = http_store
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    dead = f"http://127.0.0.1:{closed}/store"
    run("dvc", "remote", "add", "-q", "-d", "web", dead, cwd=in_project)
    assert check_remote.main([]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{dead}: cannot reach DVC remote 'web': [Errno 111] Connection refused"
    ]
    run("dvc", "remote", "modify", "web", "url", url, cwd=in_project)
    assert check_remote.main([]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "data/images: 3 object(s) of directory not in DVC remote 'web'",
        "data/raw.csv: file not in DVC remote 'web'",
        "model.bin: file not in DVC remote 'web'",
        "run `lockship check-remote --push` or `dvc push -r web` to upload what is cached",
    ]
    run("dvc", "remote", "add", "-q", "disk", served / "store", cwd=in_project)
    run("dvc", "push", "-q", "-r", "disk", "data/raw.csv.dvc", "train", cwd=in_project)
    assert check_remote.main([]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "data/images: 3 object(s) of directory not in DVC remote 'web'",
        "run `lockship check-remote --push` or `dvc push -r web` to upload what is cached",
    ]
    run("dvc", "push", "-q", "-r", "disk", cwd=in_project)
    assert check_remote.main([]) == 0
    assert capsys.readouterr().out.endswith("all 3 DVC outputs are in remote 'web'\n")


def test_dvc_s_own_error_is_passed_through(in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Issue 9 item 7: the last line of DVC's stderr, `Having any troubles? Hit us up...`, hid the cause.
    if importlib.util.find_spec("dvc_webdav") is not None:
        pytest.skip("dvc-webdav is installed: DVC would try to connect instead")
    run("dvc", "remote", "add", "-q", "-d", "dav", "webdavs://127.0.0.1:9/store", cwd=in_project)
    assert check_remote.main([]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "webdavs://127.0.0.1:9/store: cannot reach DVC remote 'dav': unexpected error - webdavs is supported, "
        "but requires 'dvc-webdav' to be installed: No module named 'dvc_webdav'"
    ]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("not-git", "not a git repository"),
        ("no-remote", ".dvc/config: no default DVC remote; run `dvc remote add -d NAME URL`"),
        ("unknown-remote", ".dvc/config: no DVC remote named 'elsewhere'"),
        ("bad-lock", "dvc.lock@"),
        ("not-dvc", ": not a DVC repository (no .dvc directory)"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    setup: str,
    message: str,
    in_project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, args = in_project, []
    if setup == "not-git":
        repo = outside_git(tmp_path, monkeypatch)
    elif setup == "no-remote":
        run("dvc", "remote", "default", "--unset", cwd=repo)
    elif setup == "unknown-remote":
        args = ["--remote", "elsewhere"]
    elif setup == "bad-lock":
        (repo / "dvc.lock").write_text("schema: '2.0'\nstages: [\n")
        run("git", "commit", "-qam", "broken lock", cwd=repo)
    elif setup == "not-dvc":
        shutil.rmtree(repo / ".dvc")
    before = snapshot(repo, tmp_path / "store") if setup != "not-git" else None
    assert check_remote.main([*args, "--push"]) != 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert message in err[0]
    if setup == "bad-lock":
        assert err[0].endswith(":3:1: invalid YAML: did not find expected node content")
    if before is not None:
        assert snapshot(repo, tmp_path / "store") == before
    else:
        assert list(repo.iterdir()) == []


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}


@pytest.mark.parametrize("lock_or_dvc_file", ["dvc.lock", "data/raw.csv.dvc"])
def test_a_crafted_md5_names_no_path_and_writes_nothing(
    lock_or_dvc_file: str, in_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The remote two levels down, so that the crafted hash would land inside tmp_path: from the cache
    # (.dvc/cache/files/md5/) it reads the repo's git-ignored .env, into the remote it writes tmp_path/.env.
    run("dvc", "remote", "modify", "store", "url", "../../remotes/store", cwd=in_project)
    (tmp_path / "remotes" / "store").mkdir(parents=True)
    (in_project / ".gitignore").write_text("/.env\n")
    (in_project / ".env").write_text("API_KEY=secret\n")
    text = (in_project / lock_or_dvc_file).read_text()
    lines = text.splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if "md5: " in line and "outs" in "".join(lines[:i]))
    indent = lines[number][: lines[number].index("md5: ")]
    lines[number] = f"{indent}md5: ..//../../../.env\n"
    (in_project / lock_or_dvc_file).write_text("".join(lines))
    run("git", "commit", "-qam", "crafted hash", cwd=in_project)
    before = files_under(tmp_path)
    assert check_remote.main(["--push"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"{lock_or_dvc_file}@")
    assert f":{number + 1}: " in err[0] and err[0].endswith(
        "'..//../../../.env' is not a DVC md5 (32 lowercase hex digits, `.dir` after a directory's)"
    )
    assert files_under(tmp_path) == before
    assert not (tmp_path / ".env").exists() and not (tmp_path.parent / ".env").exists()


def test_a_crafted_directory_listing_names_no_path(in_project: Path, tmp_path: Path) -> None:
    """A listing in the remote (anyone with write access to it) is read as data, never as paths."""
    (tmp_path / "store").mkdir()
    assert check_remote.main(["--push"]) == 0
    listing = next(p for p in (tmp_path / "store").rglob("*.dir"))
    listing.write_text('[{"md5": "..//../../../.env", "relpath": "x"}]')
    before = files_under(tmp_path)
    with pytest.raises(LockshipError, match=r"not a DVC directory listing: '..//../../../.env' is not a file's md5"):
        needed_objects(
            next(o for o in referenced_outputs(None) if o.md5.endswith(".dir")), tmp_path / "store", tmp_path
        )
    assert files_under(tmp_path) == before


# --- real pushes through pre-commit -----------------------------------------------------------------


def push(repo: Path) -> subprocess.CompletedProcess[str]:
    return run("git", "push", "origin", "main", cwd=repo, check=False)


def remote_tip(repo: Path) -> str:
    return run("git", "ls-remote", "origin", "refs/heads/main", cwd=repo).stdout.split()[0]


def test_push_blocked_until_the_dvc_remote_has_the_data(
    project: Path, tmp_path: Path, hooks_repo: tuple[Path, str]
) -> None:
    (tmp_path / "store").mkdir()
    use_hooks(project, hooks_repo, ["check-remote"])
    run("git", "add", ".pre-commit-config.yaml", cwd=project)
    run("git", "commit", "-qm", "hooks", "--no-verify", cwd=project)
    result = push(project)
    assert result.returncode != 0
    assert "data/raw.csv (data/raw.csv.dvc@" in result.stdout + result.stderr
    assert remote_tip(project) != run("git", "rev-parse", "HEAD", cwd=project).stdout.strip()
    assert objects(tmp_path / "store") == set()

    use_hooks(project, hooks_repo, [{"id": "check-remote", "args": ["--push"]}])
    run("git", "commit", "-qam", "hooks push", "--no-verify", cwd=project)
    result = push(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert remote_tip(project) == run("git", "rev-parse", "HEAD", cwd=project).stdout.strip()
    assert len(objects(tmp_path / "store")) == 5


def test_push_from_a_clone_that_never_pulled(project: Path, tmp_path: Path, hooks_repo: tuple[Path, str]) -> None:
    run("dvc", "push", "-q", cwd=project)
    clone = tmp_path / "clone"
    run("git", "clone", "-q", tmp_path / "origin.git", clone, cwd=tmp_path)
    use_hooks(clone, hooks_repo, ["check-remote"])
    (clone / "README").write_text("docs\n")
    run("git", "add", "-A", cwd=clone)
    run("git", "commit", "-qm", "docs", "--no-verify", cwd=clone)
    result = push(clone)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (clone / ".dvc" / "cache").exists()


def test_other_remote_types_need_dvc_on_path(
    in_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run("dvc", "remote", "add", "-q", "-f", "-d", "cloud", "s3://bucket/path", cwd=in_project)
    git_only = Path(shutil.which("git") or "git").parent
    monkeypatch.setenv("PATH", str(git_only))
    assert check_remote.main([]) == 1
    assert capsys.readouterr().err == "s3://bucket/path: checking a 's3' remote needs `dvc` on PATH\n"


def test_the_lockship_command_dispatches_here(in_project: Path) -> None:
    run("dvc", "push", "-q", cwd=in_project)
    result = run(sys.executable, "-m", "lockship", "check-remote", cwd=in_project)
    assert "all 3 DVC outputs are in remote 'store'" in result.stdout
