from __future__ import annotations

import functools
import io
import json
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

from lockship.core.errors import LockshipError
from lockship.modelfile import MAX_SCHEMA_BYTES, canonical_skops, load_model, model_bytes


@pytest.fixture(scope="module")
def forest() -> RandomForestClassifier:
    features, labels = load_iris(return_X_y=True)
    return RandomForestClassifier(n_estimators=5, random_state=0).fit(features, labels)


def test_canonical_files_are_stable_and_load_to_the_same_model(forest: RandomForestClassifier, tmp_path: Path) -> None:
    raw_first, raw_second = skops.io.dumps(forest), skops.io.dumps(forest)
    assert canonical_skops(raw_first) == canonical_skops(raw_second) == model_bytes(forest)
    archive = zipfile.ZipFile(io.BytesIO(model_bytes(forest)))
    assert archive.namelist()[0] == "schema.json"
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    (tmp_path / "m.skops").write_bytes(model_bytes(forest))
    features, _ = load_iris(return_X_y=True)
    assert np.array_equal(load_model(tmp_path / "m.skops").predict_proba(features), forest.predict_proba(features))


def test_shared_objects_stay_shared(tmp_path: Path) -> None:
    shared = np.arange(3)
    (tmp_path / "m.skops").write_bytes(canonical_skops(skops.io.dumps({"a": shared, "b": shared})))
    loaded = skops.io.load(tmp_path / "m.skops")
    assert loaded["a"] is loaded["b"]


def test_untrusted_and_broken_files_are_refused(tmp_path: Path) -> None:
    from sklearn.preprocessing import FunctionTransformer

    skops.io.dump(FunctionTransformer(func=eval), tmp_path / "evil.skops")
    with pytest.raises(LockshipError, match=r"evil.skops: refusing to load untrusted type\(s\): builtins.eval"):
        load_model(tmp_path / "evil.skops")
    (tmp_path / "broken.skops").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(LockshipError, match=r"broken\.skops: not a skops model file"):
        load_model(tmp_path / "broken.skops")


# A real zip bomb, as in issue 8: schema.json of 1.5 GiB of spaces deflated to about 1.5 MB. Deflate blocks
# ended by a full flush do not depend on what came before, so one block repeated is a valid stream.
BOMB_BLOCKS, BOMB_BLOCK = 96, 2**24
BOMB_SIZE = BOMB_BLOCKS * BOMB_BLOCK


def zip_member(name: str, raw: bytes, *, crc: int, size: int, method: int = 8, flags: int = 0) -> bytes:
    """A one-member zip archive around an already compressed member, declaring `size` as its inflated size."""
    encoded = name.encode()
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, len(raw), size, len(encoded), 0)
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, 0, 0x21, crc, len(raw), size,
                          len(encoded), 0, 0, 0, 0, 0, 0) + encoded  # fmt: skip
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(encoded) + len(raw), 0)
    return local + encoded + raw + central + end


def deflated(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


@functools.cache
def bomb_stream() -> tuple[bytes, int]:
    """The deflated 1.5 GiB of spaces and their CRC-32."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b" " * BOMB_BLOCK) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(BOMB_BLOCKS):
        crc = zlib.crc32(b" " * BOMB_BLOCK, crc)
    return block * BOMB_BLOCKS + compressor.flush(), crc


def bomb(*, declared: int = BOMB_SIZE) -> bytes:
    raw, crc = bomb_stream()
    return zip_member("schema.json", raw, crc=crc, size=declared)


# Loads a model file in a fresh interpreter and reports its one-line refusal and its own peak memory.
LOAD_AND_MEASURE = """
import json, resource, sys
from lockship.core.errors import LockshipError
from lockship.modelfile import load_model
try:
    load_model(sys.argv[1])
    problems = []
except LockshipError as error:
    problems = list(error.problems)
print(json.dumps({"problems": problems, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def load_in_subprocess(path: Path) -> tuple[list[str], float]:
    # The timeout only stops a hang; what is asserted is the outcome and the memory.
    result = subprocess.run([sys.executable, "-c", LOAD_AND_MEASURE, str(path)], capture_output=True, text=True,
                            timeout=300, check=False)  # fmt: skip
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    return report["problems"], report["peak_mib"]


def test_the_bomb_is_a_real_bomb() -> None:
    archive = zipfile.ZipFile(io.BytesIO(bomb()))
    assert archive.infolist()[0].file_size == BOMB_SIZE
    assert len(bomb()) < BOMB_SIZE // 500
    with archive.open("schema.json") as stream:
        assert stream.read(2**20) == b" " * 2**20  # it does inflate to spaces (not read to the end: 1.5 GiB)


def test_a_zip_bomb_is_refused_before_inflating_in_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "model.skops").write_bytes(bomb())
    problems, peak_mib = load_in_subprocess(tmp_path / "model.skops")
    assert problems == [
        f"{tmp_path / 'model.skops'}: 'schema.json': inflates to {BOMB_SIZE} bytes, more than the "
        f"{MAX_SCHEMA_BYTES} lockship loads (a zip bomb?)"
    ]
    assert peak_mib < 400  # inflating it takes 1,536 MiB for the text alone


def test_a_member_under_declaring_its_size_stops_at_the_declared_size(tmp_path: Path) -> None:
    (tmp_path / "model.skops").write_bytes(bomb(declared=1000))
    problems, peak_mib = load_in_subprocess(tmp_path / "model.skops")
    assert problems == [
        f"{tmp_path / 'model.skops'}: not a skops model file: BadZipFile: Bad CRC-32 for file 'schema.json'"
    ]
    assert peak_mib < 400


def test_a_member_compressed_beyond_the_ratio_limit_is_refused(tmp_path: Path) -> None:
    zeros = bytes(16 * 2**20)  # under every size limit, but 1,000:1
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as target:
        target.writestr("schema.json", "{}")
        target.writestr("0.npy", zeros)
    (tmp_path / "model.skops").write_bytes(archive.getvalue())
    with pytest.raises(LockshipError, match=rf"model\.skops: '0\.npy': inflates \d+ bytes to {len(zeros)}, a ratio "):
        load_model(tmp_path / "model.skops")


def archive_of(members: dict[str, bytes]) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)
    return output.getvalue()


def with_member(data: bytes, name: str, content: bytes) -> bytes:
    """`data`'s archive with one member's content replaced."""
    source = zipfile.ZipFile(io.BytesIO(data))
    return archive_of(
        {info.filename: content if info.filename == name else source.read(info) for info in source.infolist()}
    )


NESTED_JSON = (
    '{"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode", "is_json": true, "protocol": 2, '
    '"content": "%s"}'
)
MALFORMED_MODELS: dict[str, tuple[bytes, str]] = {
    "empty file": (b"", r"empty file, not a skops model file"),
    "not a zip": (b"not a zip archive at all", r"not a skops model file: BadZipFile: File is not a zip file"),
    "corrupt deflate": (
        zip_member("schema.json", b"\xff" * 64, crc=0, size=1000),
        r"not a skops model file: error: Error -3 while decompressing data: invalid block type",
    ),
    "truncated archive": (b"PK\x03\x04 truncated", r"not a skops model file: BadZipFile: File is not a zip file"),
    "no schema.json": (archive_of({"0.npy": b"data"}), r"not a skops model file: no schema.json in the archive"),
    "encrypted member": (
        zip_member("schema.json", b"{}", crc=zlib.crc32(b"{}"), size=2, method=0, flags=1),
        r"'schema.json': encrypted, which a skops model file never is",
    ),
    "bzip2 member": (
        zip_member("schema.json", b"BZh", crc=0, size=2, method=12),
        r"'schema.json': compression method 12; skops files are stored or deflated",
    ),
    "schema.json a list": (archive_of({"schema.json": b"[]"}), r"schema.json: expected a skops schema .*, got \[\]"),
    "schema.json empty object": (
        archive_of({"schema.json": b"{}"}),
        r"schema.json: expected a skops schema .*, got \{\}",
    ),
    "schema.json not JSON": (archive_of({"schema.json": b"{oops"}), r"schema.json:1:2: invalid JSON: "),
    "schema.json not UTF-8": (archive_of({"schema.json": b"\xff\xfe"}), r"schema.json: not UTF-8 text"),
    "schema.json 100k deep": (
        archive_of({"schema.json": b"[" * 100_000 + b"]" * 100_000}),
        r"schema.json: nested deeper than 100 levels",
    ),
    "schema.json 150 deep": (
        archive_of({"schema.json": b'{"a": ' * 150 + b"1" + b"}" * 150}),
        r"schema.json: nested deeper than 100 levels",
    ),
    "schema.json 5,000-digit integer": (
        archive_of({"schema.json": b'{"protocol": 1' + b"0" * 4999 + b"}"}),
        r"schema.json: an integer of 5000 digits \(more than 100\)",
    ),
    "schema.json lone surrogate": (
        archive_of({"schema.json": b'{"__class__": "\\ud800"}'}),
        r"schema.json: __class__: '\\ud800' holds a lone surrogate",
    ),
    "schema.json without skops' keys": (
        archive_of({"schema.json": b'{"protocol": 2}'}),
        r"not a loadable skops model file: \w+: ",
    ),
    "a skops value nested 100k deep": (
        archive_of({"schema.json": (NESTED_JSON % ("[" * 100_000 + "]" * 100_000)).encode()}),
        r"not a loadable skops model file: RecursionError: ",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_MODELS))
def test_malformed_model_files_are_one_line_each(tmp_path: Path, case: str) -> None:
    content, message = MALFORMED_MODELS[case]
    (tmp_path / "model.skops").write_bytes(content)
    with pytest.raises(LockshipError) as error:
        load_model(tmp_path / "model.skops")
    assert len(error.value.problems) == 1 and "\n" not in error.value.problems[0]
    assert error.value.problems[0].startswith(f"{tmp_path / 'model.skops'}: ")
    assert re.search(message, error.value.problems[0]), error.value.problems[0]


def test_a_bad_array_inside_a_valid_archive_is_one_line(tmp_path: Path) -> None:
    valid = model_bytes({"weights": np.arange(3.0)})
    (tmp_path / "model.skops").write_bytes(with_member(valid, "0.npy", b"\x93NUMPY garbage"))
    with pytest.raises(LockshipError, match=r"model\.skops: not a loadable skops model file: ValueError: "):
        load_model(tmp_path / "model.skops")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "model.skops")
    with pytest.raises(LockshipError, match=r"model\.skops: not a regular file"):
        load_model(tmp_path / "model.skops")


def test_random_damage_is_a_lockship_error_or_a_model(forest: RandomForestClassifier) -> None:
    """Bytes flipped, zeroed or cut anywhere in a real model file: never any other exception."""
    valid = model_bytes(forest)
    generator = random.Random(0)
    outcomes = set()
    for _ in range(150):
        damaged = bytearray(valid)
        for _ in range(generator.randint(1, 4)):
            damaged[generator.randrange(len(damaged))] = generator.randrange(256)
        if generator.random() < 0.2:
            damaged = damaged[: generator.randrange(len(damaged))]
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "model.skops"
            path.write_bytes(bytes(damaged))
            try:
                load_model(path)
                outcomes.add("loaded")
            except LockshipError as error:
                assert len(error.problems) == 1 and "\n" not in error.problems[0]
                outcomes.add("refused")
    assert outcomes == {"loaded", "refused"}  # both kinds of damage happened: the test saw something
