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
from pathlib import PurePosixPath
from typing import Any

from lockship.core.errors import LockshipError

# Types beyond skops' defaults that lockship's estimators need; anything else in a file is refused.
TRUSTED_TYPES = ("numpy.dtype", "sklearn.tree._tree.Tree")
_EPOCH = (1980, 1, 1, 0, 0, 0)


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
    """Load a skops model file, refusing any type outside skops' defaults and TRUSTED_TYPES."""
    import skops.io

    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
        untrusted = sorted(set(skops.io.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    except FileNotFoundError as error:
        raise LockshipError(f"{name}: model file not found") from error
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise LockshipError(f"{name}: not a skops model file: {error}") from error
    if untrusted:
        raise LockshipError(f"{name}: refusing to load untrusted type(s): {', '.join(untrusted)}")
    return skops.io.loads(data, trusted=list(TRUSTED_TYPES))
