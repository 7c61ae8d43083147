"""What the app answers a request it refuses: an HTTP status and one problem per offending record and field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    """One rejected value: `record` indexes the batch from 0, `field` names the feature."""

    message: str
    record: int | None = None
    field: str | None = None

    def text(self) -> str:
        where = [
            f"record {self.record}" if self.record is not None else "",
            f"field '{self.field}'" if self.field else "",
        ]
        prefix = ", ".join(part for part in where if part)
        return f"{prefix}: {self.message}" if prefix else self.message


class RequestError(Exception):
    """A request the app refuses: its HTTP status and every problem found."""

    def __init__(self, status: int, *problems: Problem) -> None:
        super().__init__("; ".join(problem.text() for problem in problems))
        self.status = status
        self.problems = problems


def show(value: Any) -> str:
    """A value as a message shows it: JSON for scalars, the type name otherwise, at most 40 characters."""
    text = json.dumps(value) if isinstance(value, bool | str | int | float | None) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def printable(text: str) -> str:
    """`text` with anything UTF-8 cannot encode (a lone surrogate such as "\\ud800") shown as an escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
