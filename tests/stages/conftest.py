"""Helpers for stage tests: a params file and small data files written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml


def set_params(path: Path, section: str, **values: object) -> None:
    """Change keys of one section of a params file."""
    data = yaml.safe_load(path.read_text())
    data[section].update(values)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def small_frame(rows: int = 40) -> pd.DataFrame:
    """A tiny two-class dataset with a string column, deterministic."""
    return pd.DataFrame(
        {
            "height": [150.0 + (i * 7) % 40 for i in range(rows)],
            "weight": [50 + (i * 11) % 30 for i in range(rows)],
            "colour": [("red", "green", "blue")[i % 3] for i in range(rows)],
            "label": [("yes", "no")[(i * 5 // 3) % 2] for i in range(rows)],
        }
    )


def outputs_in(directory: Path) -> list[str]:
    """Every file under `directory`, temporary files included, relative and sorted."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
