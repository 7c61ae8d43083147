"""Progress bars for long steps: shown on a terminal, silent in CI and DVC logs."""

from __future__ import annotations

import shutil
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm


def interactive() -> bool:
    """True when a person is watching stderr."""
    return sys.stderr.isatty()


def progress_bar(total: int, description: str, unit: str = "step") -> tqdm[Any]:
    """A tqdm bar that draws only on a terminal and clears itself when done."""
    from tqdm import tqdm

    # tqdm hides its bar on a terminal that reports a 0x0 size (some CI pseudo-terminals);
    # shutil falls back to $COLUMNS/$LINES or 80x24 there.
    size = shutil.get_terminal_size()
    return tqdm(
        total=total,
        desc=description,
        unit=unit,
        disable=not interactive(),
        leave=False,
        file=sys.stderr,
        ncols=size.columns,
        nrows=size.lines,
    )
