"""Decoding request bodies: the vectorised path and the record-by-record path agree, and problems are precise."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from msgspec.structs import astuple

from lockship.core.model.directory import read_model_dir
from lockship.serving.inputs import Decoder, Flag, RequestError, typed_decoder
from tests.serving.conftest import Trained


@pytest.fixture(scope="module")
def decoder(trained: Trained) -> Decoder:
    return Decoder(read_model_dir(trained.model_dir))


def test_fast_and_slow_paths_give_the_same_matrix(decoder: Decoder, trained: Trained) -> None:
    records = trained.records()
    fast = decoder.records(json.dumps({"records": records}).encode())
    slow = decoder._slow(records)
    assert fast.matrix is not None and slow.matrix is not None
    np.testing.assert_array_equal(fast.matrix, slow.matrix)
    np.testing.assert_array_equal(fast.matrix, trained.features.to_numpy())


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_numbers_even_on_the_fast_path(decoder: Decoder, trained: Trained, value: bool) -> None:
    records = trained.records(2)
    records[1]["mean area"] = value
    records[0]["mean area"] = float(value)  # a genuine 0.0 or 1.0 beside it is not mistaken for a boolean
    with pytest.raises(RequestError) as error:
        decoder.records(json.dumps({"records": records}).encode())
    assert [(p.record, p.field) for p in error.value.problems] == [(0, "mean area"), (1, "mean area")]


@pytest.mark.parametrize(("value", "message"), [("1.5", 'got "1.5"'), (True, "got true"), (None, "missing value"),
                                              ([1.0], "got list"), ({"v": 1.0}, "got dict")])  # fmt: skip
def test_no_value_converts_silently_in_a_big_batch(
    decoder: Decoder, trained: Trained, value: object, message: str
) -> None:
    records = (trained.records() * 10)[:1000]
    records = [dict(record) for record in records]
    records[700]["mean area"] = value
    with pytest.raises(RequestError) as error:
        decoder.records(json.dumps({"records": records}).encode())
    assert error.value.status == 422
    assert [(p.record, p.field) for p in error.value.problems] == [(700, "mean area")]
    assert message in error.value.problems[0].message


def test_integers_convert_like_python(decoder: Decoder, trained: Trained) -> None:
    records = trained.records(1)
    records[0]["mean area"] = 900
    inputs = decoder.records(json.dumps({"records": records}).encode())
    assert inputs.matrix is not None
    assert inputs.matrix[0, decoder.names.index("mean area")] == 900.0
    big = 2**53 + 1  # no float holds it: the typed decoder rounds it as Python does
    (record,) = typed_decoder(["x"]).decode(b'{"records": [{"x": %d}]}' % big).records
    assert astuple(record) == (float(big),)


def test_an_integer_beyond_the_float_range_is_a_problem_not_a_crash(decoder: Decoder, trained: Trained) -> None:
    records = trained.records(2)
    records[1]["mean area"] = 12345.0
    body = json.dumps({"records": records}).encode().replace(b"12345.0", b"1" + b"0" * 400)
    with pytest.raises(RequestError) as error:
        decoder.records(body)
    assert [(p.record, p.field) for p in error.value.problems] == [(1, "mean area")]
    assert "is not a finite number" in error.value.problems[0].message


def test_a_duplicated_key_keeps_its_last_value_on_both_paths(decoder: Decoder, trained: Trained) -> None:
    record = trained.records(1)[0]
    text = json.dumps({"records": [record]})
    body = text.replace('"mean area": ', '"mean area": 1.0, "mean area": ', 1).encode()
    inputs = decoder.records(body)
    assert inputs.matrix is not None
    np.testing.assert_array_equal(inputs.matrix, decoder._slow([record]).matrix)


@pytest.mark.parametrize(
    ("extra", "message"), [({"records": []}, "empty batch"), ({"version": 1}, "unknown top-level key(s): version")]
)
def test_batch_level_problems_are_named(
    decoder: Decoder, trained: Trained, extra: dict[str, object], message: str
) -> None:
    body = json.dumps({"records": trained.records(2), **extra}).encode()
    with pytest.raises(RequestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        decoder.records(body)


def test_problems_are_capped_and_ordered(decoder: Decoder, trained: Trained) -> None:
    records = [{**record, "mean radius": 1000.0} for record in trained.records(30)]
    with pytest.raises(RequestError) as error:
        decoder.records(json.dumps({"records": records}).encode())
    assert error.value.status == 422
    assert [p.record for p in error.value.problems] == list(range(20))


def test_field_order_does_not_matter(decoder: Decoder, trained: Trained) -> None:
    record = trained.records(1)[0]
    shuffled = dict(reversed(list(record.items())))
    one = decoder.records(json.dumps({"records": [record]}).encode()).matrix
    two = decoder.records(json.dumps({"records": [shuffled]}).encode()).matrix
    assert one is not None and two is not None
    np.testing.assert_array_equal(one, two)


def _with_rule(trained: Trained, name: str, **changes: object) -> Decoder:
    """A decoder for the trained model whose schema changes one column's rule."""
    model_dir = read_model_dir(trained.model_dir)
    columns = tuple(
        dataclasses.replace(rule, **changes) if rule.name == name else rule  # type: ignore[arg-type]
        for rule in model_dir.schema.columns
    )
    return Decoder(dataclasses.replace(model_dir, schema=dataclasses.replace(model_dir.schema, columns=columns)))


def test_flagged_ranges_are_served_and_flagged_on_both_paths(trained: Trained) -> None:
    decoder = _with_rule(trained, "mean area", outside="flag")
    rule = decoder.schema.column("mean area")
    assert rule is not None and rule.maximum is not None and rule.minimum is not None
    records = trained.records(3)
    records[1]["mean area"] = rule.maximum + 1
    records[2]["mean area"] = rule.minimum - 1
    fast = decoder.records(json.dumps({"records": records}).encode())
    slow = decoder._slow(records)
    expected = [Flag(1, "mean area", "above_max"), Flag(2, "mean area", "below_min")]
    assert fast.flagged == slow.flagged == expected
    assert fast.matrix is not None and fast.matrix[1, decoder.names.index("mean area")] == rule.maximum + 1
    # The same value under the default `outside: reject` is still refused.
    with pytest.raises(RequestError, match="above the schema's maximum"):
        Decoder(read_model_dir(trained.model_dir)).records(json.dumps({"records": records}).encode())
    # A string for a number is refused whatever `outside` says.
    records[0]["mean area"] = "big"
    with pytest.raises(RequestError) as error:
        decoder.records(json.dumps({"records": records}).encode())
    assert error.value.status == 422 and [(p.record, p.field) for p in error.value.problems] == [(0, "mean area")]


def test_a_nullable_feature_may_be_left_out(trained: Trained) -> None:
    decoder = _with_rule(trained, "mean area", nullable=True)
    records = trained.records(2)
    del records[0]["mean area"]
    inputs = decoder.records(json.dumps({"records": records}).encode())
    assert inputs.matrix is not None and np.isnan(inputs.matrix[0, decoder.names.index("mean area")])
    del records[0]["mean radius"]  # not nullable: still missing
    with pytest.raises(RequestError) as error:
        decoder.records(json.dumps({"records": records}).encode())
    assert [(p.message, p.field) for p in error.value.problems] == [("missing", "mean radius")]
