"""The grid lookup agrees with searchsorted everywhere, at the edges and beyond them."""

from __future__ import annotations

import numpy as np
import pytest

from lockship.monitoring.lookup import Binner


@pytest.mark.parametrize(
    "edges",
    [
        np.sort(np.random.default_rng(0).normal(0, 1, 101)),
        np.array([0.0, 1e-12, 1.0]),  # a bin far narrower than the grid allows
        np.array([1.0, np.nextafter(1.0, 2.0)]),
        np.arange(10.0),
        np.array([-5.0, 0.0, 5.0]),
    ],
)
def test_the_binner_agrees_with_searchsorted_everywhere(edges: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    tricky = [edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf), [np.inf, -np.inf, 1e308, -1e308, -0.0]]
    for values in (rng.normal(0, 3, 100_000), np.concatenate(tricky)):
        assert np.array_equal(Binner(edges).index(values), np.searchsorted(edges, values, side="right"))
