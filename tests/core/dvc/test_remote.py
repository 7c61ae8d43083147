"""A directory DVC remote read and filled without DVC, in DVC's own layout."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lockship.core.dvc.remote import Output, Remote, check_directory_remote, object_path, read_dvc_config
from lockship.core.errors import EXIT_USAGE, LockshipError


def store(base: Path, name: str, data: bytes) -> None:
    (base / name).parent.mkdir(parents=True, exist_ok=True)
    (base / name).write_bytes(data)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_object_paths_of_dvc_3_and_dvc_2() -> None:
    digest = "ab" + "c" * 30
    assert object_path(digest, legacy=False) == f"files/md5/ab/{'c' * 30}"
    assert object_path(digest + ".dir", legacy=True) == f"ab/{'c' * 30}.dir"


@pytest.mark.parametrize("md5", ["..//../../../.env", "AB" + "c" * 30, "ab" * 16 + ".DIR", "ab" * 15, "ab/" + "c" * 29])
def test_a_hash_that_is_not_dvcs_names_no_object(md5: str) -> None:
    with pytest.raises(LockshipError, match="not a DVC md5; refusing to use it as an object path"):
        object_path(md5, legacy=False)


def test_missing_objects_are_named_then_pushed_from_the_cache(tmp_path: Path) -> None:
    cache, remote = tmp_path / "cache", tmp_path / "remote"
    listing = json.dumps([{"md5": md5(b"a"), "relpath": "a"}, {"md5": md5(b"b"), "relpath": "b"}]).encode()
    tree = md5(listing) + ".dir"
    for name, data in ((object_path(tree, False), listing), *((object_path(md5(d), False), d) for d in (b"a", b"b"))):
        store(cache, name, data)
    outputs = [Output("data", tree, False, "dvc.lock@abc1234"), Output("f", md5(b"zz"), False, "f.dvc@abc1234")]
    where = Remote("store", "../remote", remote)
    problems, uploaded = check_directory_remote(outputs, where, cache, push=False)
    assert (problems, uploaded) == ([f"../remote: cannot reach DVC remote 'store': {remote} does not exist"], [])
    problems, uploaded = check_directory_remote(outputs, where, cache, push=True)
    assert len(uploaded) == 3 and (remote / object_path(md5(b"b"), False)).read_bytes() == b"b"
    assert problems == [
        f"f (f.dvc@abc1234): file {md5(b'zz')} not in DVC remote 'store' nor in the local cache"
        " (`dvc repro` or push from where it was produced)"
    ]
    (remote / object_path(md5(b"a"), False)).unlink()
    problems, _ = check_directory_remote(outputs[:1], where, cache, push=False)
    assert problems == [
        f"data (dvc.lock@abc1234): 1 object(s) of directory {tree} not in DVC remote 'store'",
        "run `lockship check-remote --push` or `dvc push -r store` to upload what is cached",
    ]


def test_config_names_the_remote_and_the_cache(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(git_repo)
    with pytest.raises(LockshipError, match=r": not a DVC repository \(no .dvc directory\)$"):
        read_dvc_config(None)
    (git_repo / ".dvc").mkdir()
    (git_repo / ".dvc" / "config").write_text("[core]\n    remote = store\n['remote \"store\"']\n    url = ../../st\n")
    (git_repo / ".dvc" / "config.local").write_text("[cache]\n    dir = /elsewhere/cache\n")
    remote, cache = read_dvc_config(None)
    assert (remote.name, remote.url, remote.local) == ("store", "../../st", (git_repo / ".dvc/../../st").resolve())
    assert cache == Path("/elsewhere/cache")
    with pytest.raises(LockshipError) as error:
        read_dvc_config("other")
    assert error.value.exit_code == EXIT_USAGE and error.value.problems[0].endswith("no DVC remote named 'other'")
    (git_repo / ".dvc" / "config").write_text('[remote "s3"]\n    url = s3://bucket/x\n')
    with pytest.raises(LockshipError, match="no default DVC remote"):
        read_dvc_config(None)
    assert read_dvc_config("s3")[0].local is None
