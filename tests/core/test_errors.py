from __future__ import annotations

from collections.abc import Sequence

import pytest

from lockship.core.errors import LockshipError, entrypoint


def test_expected_failures_become_lines_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    @entrypoint
    def main(argv: Sequence[str] | None = None) -> int:
        raise LockshipError("a.csv:3: bad", "b.csv: worse", exit_code=2)

    assert main([]) == 2
    assert capsys.readouterr().err == "a.csv:3: bad\nb.csv: worse\n"


def test_bugs_are_not_swallowed() -> None:
    @entrypoint
    def main(argv: Sequence[str] | None = None) -> int:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        main([])


def test_interrupt_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    @entrypoint
    def main(argv: Sequence[str] | None = None) -> int:
        raise KeyboardInterrupt

    assert main([]) == 130
    assert capsys.readouterr().err == "interrupted\n"
