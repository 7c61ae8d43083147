"""Problems name the record and field they are about; values are shown short."""

from __future__ import annotations

from lockship.serving.problems import Problem, RequestError, show


def test_problem_text_names_record_and_field() -> None:
    assert Problem("missing", 0, "age").text() == "record 0, field 'age': missing"
    assert Problem("missing input tensor", field="age").text() == "field 'age': missing input tensor"
    assert Problem("empty batch").text() == "empty batch"


def test_request_error_keeps_status_and_every_problem() -> None:
    error = RequestError(422, Problem("a", 1), Problem("b", 2, "x"))
    assert error.status == 422 and [p.record for p in error.problems] == [1, 2]
    assert str(error) == "record 1: a; record 2, field 'x': b"


def test_show() -> None:
    assert show(True) == "true" and show(None) == "null" and show("a") == '"a"'
    assert show([1]) == "list"
    assert show("x" * 100) == '"' + "x" * 36 + "..."
