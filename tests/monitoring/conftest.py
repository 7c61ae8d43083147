"""Reference profiles written by the real `evaluate` code, and input logs written by the real InputLog."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lockship.serving.inputlog import InputLog, InputLogConfig
from lockship.stages.evaluate import profile

# Five numeric features of different shapes: symmetric, skewed, bounded, discrete, large-valued.
FEATURES = ["normal", "skewed", "uniform", "counts", "wide"]


def draw(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "normal": rng.normal(3.0, 2.0, rows),
            "skewed": rng.lognormal(1.0, 0.5, rows),
            "uniform": rng.uniform(0.0, 1.0, rows),
            "counts": rng.poisson(3.0, rows).astype(np.float64),
            "wide": rng.normal(1e4, 3e3, rows),
        }
    )


def write_profile(path: Path, frame: pd.DataFrame, *, bins: int) -> Path:
    path.write_text(json.dumps(profile(frame, features=list(frame.columns), bins=bins)))
    return path


def write_log(directory: Path, frame: pd.DataFrame) -> Path:
    """The frame as the server logs it: float64 entries appended by the real writer."""
    log = InputLog(InputLogConfig(directory, max_bytes=1 << 30), list(frame.columns))
    log.append(frame.to_numpy(dtype=np.float64), len(frame))
    log.flush()
    return directory
