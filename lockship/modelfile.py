"""Model files in skops format, written byte-for-byte reproducibly and loaded without running code.

skops names the arrays inside its zip after `id()` of the objects and stamps every entry with the
clock, so two saves of the same model differ. `canonical_skops` renumbers both in the order they
appear in the schema and fixes the timestamps, which makes the file a pure function of the model.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from pathlib import PurePosixPath
from typing import Any

from lockship.core.errors import LockshipError
from lockship.core.jsonfields import brief, open_regular, parse_json

# Types beyond skops' defaults that lockship's estimators need; anything else in a file is refused.
TRUSTED_TYPES = ("numpy.dtype", "sklearn.tree._tree.Tree")
_EPOCH = (1980, 1, 1, 0, 0, 0)
SCHEMA = "schema.json"

# Limits on what a model file may cost to load: a 1.5 MB file inflating to 1.5 GiB once took 33 s and 3.4 GB.
MAX_MODEL_BYTES = 2**30
MAX_MEMBERS = 100_000
MAX_MEMBER_BYTES = 2**30
MAX_TOTAL_BYTES = 2 * 2**30
MAX_SCHEMA_BYTES = 64 * 2**20  # a binary gradient boosting of 1,000 rounds writes about 30 MiB
MAX_SCHEMA_DEPTH = 100  # a pipeline's schema nests about 30 deep
MAX_RATIO = 200  # deflate reaches about 1,000:1 only on runs of one byte
RATIO_FLOOR = 2**20  # members up to this size cannot make a bomb, whatever their ratio
_CHUNK = 2**20


def canonical_skops(data: bytes) -> bytes:
    """Rewrite a skops archive with stable member names, object ids and timestamps."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = set(source.namelist())
        schema = json.loads(source.read("schema.json"))
        renamed: dict[str, str] = {}
        ids: dict[int, int] = {}

        def renumber(node: Any) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "__id__" and isinstance(value, int):
                        node[key] = ids.setdefault(value, len(ids) + 1)  # skops treats id 0 as "no id"
                    elif key == "file" and isinstance(value, str) and value in members:
                        suffix = PurePosixPath(value).suffix
                        node[key] = renamed.setdefault(value, f"{len(renamed)}{suffix}")
                    else:
                        renumber(value)
            elif isinstance(node, list):
                for item in node:
                    renumber(item)

        renumber(schema)
        output = io.BytesIO()
        with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as target:
            _write_member(target, "schema.json", json.dumps(schema, indent=2).encode("utf-8"))
            for old, new in sorted(renamed.items(), key=lambda item: int(PurePosixPath(item[1]).stem)):
                _write_member(target, new, source.read(old))
    return output.getvalue()


def _write_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def model_bytes(model: Any) -> bytes:
    """The canonical skops bytes of a fitted model."""
    import skops.io

    return canonical_skops(skops.io.dumps(model))


def load_model(path: str | os.PathLike[str]) -> Any:
    """Load a skops model file, refusing any type outside skops' defaults and TRUSTED_TYPES.

    The archive is checked first (every member inflated within the limits, schema.json a sane JSON
    object), so a zip bomb or a malformed file is one line, never a traceback or gigabytes of memory.
    """
    import skops.io

    name = os.fspath(path)
    data = read_model_file(name)
    try:
        untrusted = sorted(set(skops.io.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
        if not untrusted:
            return skops.io.loads(data, trusted=list(TRUSTED_TYPES))
    except ModuleNotFoundError:
        raise  # the caller knows which installs leave scikit-learn out
    except Exception as error:  # skops' own checks of a crafted schema raise whatever they meet; none may escape
        raise LockshipError(f"{name}: not a loadable skops model file: {_one_line(error)}") from error
    raise LockshipError(f"{name}: refusing to load untrusted type(s): {', '.join(untrusted)}")


def read_model_file(path: str | os.PathLike[str]) -> bytes:
    """A model file's bytes, refused unless it is a regular file holding an archive that `check_archive` passes."""
    name = os.fspath(path)
    if not os.path.lexists(name):
        raise LockshipError(f"{name}: model file not found")
    with open_regular(name, limit=MAX_MODEL_BYTES) as handle:
        data = handle.read(MAX_MODEL_BYTES + 1)
    if not data:
        raise LockshipError(f"{name}: empty file, not a skops model file")
    check_archive(data, name)
    return data


def check_archive(data: bytes, name: str) -> None:
    """Refuse a skops archive unless every member inflates within the limits and schema.json is a sane JSON object.

    Declared sizes and ratios are checked from the central directory before anything is inflated; a
    member that inflates past its declared size (a crafted directory under-declaring) fails its CRC.
    """
    schema = b""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            _check_directory(members, name)
            for info in members:
                content = _inflate(archive, info)
                if content is not None:
                    schema = content
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as error:
        raise LockshipError(f"{name}: not a skops model file: {_one_line(error)}") from error
    try:
        text = schema.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LockshipError(f"{name}: {SCHEMA}: not UTF-8 text") from error
    document = parse_json(text, f"{name}: {SCHEMA}", max_depth=MAX_SCHEMA_DEPTH, lines=False)
    if not isinstance(document.data, dict) or not document.data:
        raise LockshipError(f"{name}: {SCHEMA}: expected a skops schema (a JSON object), got {brief(document.data)}")


def _check_directory(members: list[zipfile.ZipInfo], name: str) -> None:
    if len(members) > MAX_MEMBERS:
        raise LockshipError(f"{name}: {len(members)} archive members, more than the {MAX_MEMBERS} lockship loads")
    if SCHEMA not in {info.filename for info in members}:
        raise LockshipError(f"{name}: not a skops model file: no {SCHEMA} in the archive")
    total = 0
    for info in members:
        member = f"{name}: {brief(info.filename)}"
        limit = MAX_SCHEMA_BYTES if info.filename == SCHEMA else MAX_MEMBER_BYTES
        if info.flag_bits & 0x1:
            raise LockshipError(f"{member}: encrypted, which a skops model file never is")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            method = info.compress_type
            raise LockshipError(f"{member}: compression method {method}; skops files are stored or deflated")
        if info.file_size > limit:
            raise LockshipError(
                f"{member}: inflates to {info.file_size} bytes, more than the {limit} lockship loads (a zip bomb?)"
            )
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * info.compress_size:
            raise LockshipError(
                f"{member}: inflates {info.compress_size} bytes to {info.file_size}, a ratio above the "
                f"{MAX_RATIO}:1 lockship loads (a zip bomb?)"
            )
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise LockshipError(f"{name}: inflates to {total} bytes in all, more than the {MAX_TOTAL_BYTES} lockship loads")


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """Inflate one member, checking its deflate stream and CRC; schema.json's content, None for the others.

    zipfile stops at the member's declared size (and then fails the CRC check), so the declared sizes
    checked above bound what this inflates however the compressed data was crafted.
    """
    keep = info.filename == SCHEMA
    chunks = []
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            if keep:
                chunks.append(chunk)
    return b"".join(chunks) if keep else None


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:200]}" if text else type(error).__name__
