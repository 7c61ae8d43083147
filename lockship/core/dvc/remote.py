"""A DVC remote that is a plain directory, read and filled without DVC; whether any remote can be reached.

DVC 3 stores an object at `files/md5/<2 hex>/<rest>` of the remote (DVC 2 hashes at `<2 hex>/<rest>`);
a directory's object is the JSON listing of its files, each of which is an object too.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lockship.core.dvc.paths import is_md5
from lockship.core.errors import EXIT_USAGE, LockshipError
from lockship.core.git.repo import git


@dataclass(frozen=True, order=True)
class Output:
    path: str  # relative to the repository root
    md5: str  # ends with `.dir` for a directory
    legacy: bool  # a DVC 2 hash: stored at the remote's root, not under files/md5
    source: str  # `file@commit`, for messages


@dataclass(frozen=True)
class Remote:
    name: str
    url: str
    local: Path | None  # the directory, for a directory remote


def read_dvc_config(name: str | None) -> tuple[Remote, Path]:
    """The remote to check (named, else core.remote) and the local cache directory, from .dvc/config(.local)."""
    root = Path(git("rev-parse", "--show-toplevel").strip()) / ".dvc"
    if not root.is_dir():
        raise LockshipError(f"{root.parent}: not a DVC repository (no .dvc directory)")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read([root / "config", root / "config.local"], encoding="utf-8")
    except configparser.Error as error:
        raise LockshipError(f"{root / 'config'}: cannot parse: {error.message}") from error
    name = name or parser.get("core", "remote", fallback=None)
    if not name:
        raise LockshipError(f"{root / 'config'}: no default DVC remote; run `dvc remote add -d NAME URL`")
    section = next((s for s in parser.sections() if s.strip().strip("'") == f'remote "{name}"'), None)
    if section is None or not parser.get(section, "url", fallback=""):
        raise LockshipError(f"{root / 'config'}: no DVC remote named '{name}'", exit_code=EXIT_USAGE)
    url = parser.get(section, "url")
    local = None if "://" in url else (root / url).resolve()  # relative paths are relative to .dvc/
    cache = root / parser.get("cache", "dir", fallback="cache")
    return Remote(name, url, local), cache.resolve()


def object_path(md5: str, legacy: bool) -> str:
    """Where an object lives in a remote or cache; a hash that could not be DVC's never names a path."""
    if not is_md5(md5):
        raise LockshipError(f"{md5[:80]!r}: not a DVC md5; refusing to use it as an object path")
    return f"{md5[:2]}/{md5[2:]}" if legacy else f"files/md5/{md5[:2]}/{md5[2:]}"


def needed_objects(output: Output, remote: Path, cache: Path) -> tuple[list[str], bool]:
    """Object paths this output needs, and whether a directory's listing was found at all."""
    objects = [object_path(output.md5, output.legacy)]
    if not output.md5.endswith(".dir"):
        return objects, True
    manifest = next((base / objects[0] for base in (remote, cache) if (base / objects[0]).is_file()), None)
    if manifest is None:
        return objects, False
    try:
        md5s = {entry["md5"] for entry in json.loads(manifest.read_text(encoding="utf-8"))}
    except (ValueError, KeyError, TypeError) as error:
        raise LockshipError(f"{manifest}: not a DVC directory listing: {error}") from error
    bad = sorted(str(md5)[:80] for md5 in md5s if not is_md5(md5, directory=False))
    if bad:
        raise LockshipError(f"{manifest}: not a DVC directory listing: {bad[0]!r} is not a file's md5")
    objects += sorted(object_path(md5, output.legacy) for md5 in md5s)
    return objects, True


def missing_objects(outputs: Sequence[Output], remote: Path, cache: Path) -> dict[Output, list[str]]:
    """Per output, the objects the remote lacks; outputs it holds completely are left out."""
    missing: dict[Output, list[str]] = {}
    for output in outputs:
        objects, _ = needed_objects(output, remote, cache)
        absent = [name for name in objects if not (remote / name).is_file()]
        if absent:
            missing[output] = absent
    return missing


def upload(objects: Sequence[str], remote: Path, cache: Path) -> None:
    """Copy objects from the cache to the remote, each written beside its place and then renamed."""
    from lockship.core.progress import progress_bar

    with progress_bar(sum((cache / name).stat().st_size for name in objects), "dvc remote", "B") as bar:
        for name in objects:
            target = remote / name
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            os.close(handle)
            try:
                shutil.copyfile(cache / name, temporary)
                os.replace(temporary, target)
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)
            bar.update(target.stat().st_size)


_HTTP_SCHEMES = {"http": "http", "https": "https", "webdav": "http", "webdavs": "https"}


def unreachable(remote: Remote, *, timeout: float = 10.0) -> str | None:
    """Why the remote cannot be reached at all, or None when it can (or lockship cannot tell).

    DVC reports every object of an HTTP remote it cannot connect to as merely absent (fsspec's `exists`
    answers False on a connection error), so "missing" needs this to be believed. Any HTTP answer, even
    an error status, means the server is there; other schemes fail loudly in DVC itself.
    """
    if remote.local is not None:
        if not remote.local.is_dir():
            return f"{remote.local} does not exist"
        return None if os.access(remote.local, os.R_OK | os.X_OK) else f"{remote.local}: permission denied"
    parts = urllib.parse.urlsplit(remote.url)
    if parts.scheme.lower() not in _HTTP_SCHEMES:
        return None
    host = parts.netloc.rpartition("@")[2]  # credentials, if any, are DVC's to send
    url = urllib.parse.urlunsplit((_HTTP_SCHEMES[parts.scheme.lower()], host, parts.path or "/", parts.query, ""))
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None
    except urllib.error.URLError as error:
        return str(error.reason)
    except (TimeoutError, OSError) as error:
        return str(error) or type(error).__name__


def dvc_error(stderr: str, returncode: int) -> str:
    """DVC's own error text from what it printed, without its `Having any troubles?` footer."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    rest = [line for line in lines if not line.startswith("Having any troubles?")]
    return "; ".join(errors or rest[-1:]) or f"dvc exited with code {returncode}"


def check_directory_remote(
    outputs: Sequence[Output], remote: Remote, cache: Path, *, push: bool
) -> tuple[list[str], list[str]]:
    """Problems left after checking (and with `push`, filling) a directory remote, and the objects uploaded."""
    assert remote.local is not None
    if not remote.local.is_dir() and not push:
        return [f"{remote.url}: cannot reach DVC remote '{remote.name}': {remote.local} does not exist"], []
    uploaded: list[str] = []
    missing = missing_objects(outputs, remote.local, cache)
    # Two rounds: a directory's listing, once uploaded, names the files it still needs.
    for _ in range(2 if push else 0):
        pushable = sorted({name for names in missing.values() for name in names if (cache / name).is_file()})
        if not pushable:
            break
        upload(pushable, remote.local, cache)
        uploaded += pushable
        missing = missing_objects(outputs, remote.local, cache)
    return describe(missing, remote, cache), uploaded


def describe(missing: Mapping[Output, list[str]], remote: Remote, cache: Path) -> list[str]:
    lines: list[str] = []
    pushable = False
    for output, objects in sorted(missing.items()):
        what = f"{len(objects)} object(s) of directory" if output.md5.endswith(".dir") else "file"
        cached = all((cache / name).is_file() for name in objects)
        pushable |= cached
        where = "" if cached else " nor in the local cache (`dvc repro` or push from where it was produced)"
        lines.append(f"{output.path} ({output.source}): {what} {output.md5} not in DVC remote '{remote.name}'{where}")
    if pushable:
        lines.append(f"run `lockship check-remote --push` or `dvc push -r {remote.name}` to upload what is cached")
    return lines
