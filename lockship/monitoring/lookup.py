"""Which bin each value falls in, for many values at once, exactly as `np.searchsorted` says."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

# Cells of the lookup grid in `Binner` at most (a 512 KiB table).
MAX_CELLS = 1 << 16


class Binner:
    """`np.searchsorted(edges, values, side="right")`, about five times faster for many values.

    A uniform grid over the edges, with cells no wider than the narrowest bin, gives each value its
    bin in a few vectorised passes; values whose guess a check finds wrong (rounding at a cell's
    border, bins narrower than a cell) take searchsorted, so the result is always exact.
    """

    def __init__(self, edges: NDArray[np.float64]) -> None:
        self.edges = edges
        self.table: NDArray[np.intp] | None = None
        if len(edges) < 2 or not np.all(np.isfinite(edges)) or edges[-1] <= edges[0]:
            return
        span = float(edges[-1] - edges[0])
        gap = float(np.diff(edges).min())
        self.cells = int(min(MAX_CELLS, max(1.0, math.ceil(span / gap)) if gap > 0 else MAX_CELLS))
        self.low, self.scale = float(edges[0]), self.cells / span
        grid = self.low + np.arange(self.cells + 1) / self.scale
        # Position k + 1 holds cell k's guess; position 0 takes values below the grid, the last those above.
        self.table = np.concatenate([[0], np.searchsorted(edges, grid, side="right"), [len(edges)]]).astype(np.intp)
        self.below = np.concatenate([[-math.inf], edges])  # bin i holds below[i] <= v < above[i]
        self.above = np.concatenate([edges, [math.inf]])

    def index(self, values: NDArray[np.float64]) -> NDArray[np.intp]:
        """Bin indices of `values` (no NaN): 0 below the first edge ... len(edges) at or above the last."""
        if self.table is None:
            return np.searchsorted(self.edges, values, side="right")
        with np.errstate(over="ignore", invalid="ignore"):  # huge values overflow to inf, then clip
            cell = (values - self.low) * self.scale
        np.clip(cell, -1, self.cells, out=cell)
        position = cell.astype(np.intp)
        position += 1
        found = self.table[position]
        wrong = (values < self.below[found]) | (values >= self.above[found])
        if wrong.any():
            found[wrong] = np.searchsorted(self.edges, values[wrong], side="right")
        return found
