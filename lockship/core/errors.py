"""One exception for expected failures, and the wrapper that turns it into exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import Protocol

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class LockshipError(Exception):
    """An expected failure (bad input, a failed check): one `path[:line]: what is wrong` line per problem."""

    def __init__(self, *problems: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__("\n".join(problems))
        self.problems: tuple[str, ...] = problems
        self.exit_code = exit_code


class MainFunction(Protocol):
    def __call__(self, argv: Sequence[str] | None = None) -> int: ...


def entrypoint(main: Callable[[Sequence[str] | None], int]) -> MainFunction:
    """Report a LockshipError as its lines on stderr and its exit code; anything else is a bug."""

    @functools.wraps(main)
    def wrapper(argv: Sequence[str] | None = None) -> int:
        try:
            return main(argv)
        except LockshipError as error:
            for line in error.problems:
                print(line, file=sys.stderr)
            return error.exit_code
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130

    return wrapper
