"""A row's answer has the same bits alone or in any batch, on every simulated machine."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.serving.conftest import Trained, build_model_dir, pipeline_model_dir, quantile_forest, start_server
from tests.test_machines import MACHINES, machine_env

ROWS = 40


@pytest.fixture(scope="module")
def forest(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """A random forest, served on the tree fast path."""
    work = tmp_path_factory.mktemp("forest")
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    params["train"] |= {"estimator": "random_forest", "random_forest": {"n_estimators": 20, "max_depth": 6}}
    (work / "forest.yaml").write_text(yaml.safe_dump(params))
    model_dir = build_model_dir(work, work / "model-dir", params=work / "forest.yaml")
    return Trained(work=work, model_dir=model_dir, test=pd.read_csv(work / "test.csv"))


def answers(model: Trained, machine: dict[str, str], log_dir: Path) -> list[tuple[object, list[float]]]:
    """Each row's prediction and probabilities, asked alone; asserted equal to its answer inside batches."""
    server = start_server(model.model_dir, log_dir, "--workers", "1", env=machine_env(machine))
    assert server.process.poll() is None, server.output()
    records = model.records(ROWS)

    def rows(answer: httpx.Response) -> list[tuple[object, list[float]]]:
        body = answer.json()
        return list(zip(body["predictions"], body["probabilities"], strict=True))

    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            alone = [row for record in records for row in rows(client.post("/predict", json={"records": [record]}))]
            for size in (7, ROWS):
                batched = [
                    row
                    for start in range(0, ROWS, size)
                    for row in rows(client.post("/predict", json={"records": records[start : start + size]}))
                ]
                # JSON floats round-trip exactly, so == here is bit-for-bit equality.
                assert batched == alone, f"batches of {size}"
    finally:
        server.stop()
    return alone


@pytest.fixture(scope="module")
def pipeline(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """A forest behind a transformer no fast path exports: served through its scikit-learn pipeline."""
    work = tmp_path_factory.mktemp("pipeline")
    model_dir = pipeline_model_dir(trained, work / "model-dir", quantile_forest(trained, 20))
    return Trained(work=trained.work, model_dir=model_dir, test=trained.test)


@pytest.mark.parametrize("model_name", ["linear", "forest", "pipeline"])
def test_answers_are_bit_identical_alone_in_batches_and_on_every_machine(
    model_name: str, trained: Trained, forest: Trained, pipeline: Trained, tmp_path: Path
) -> None:
    model = {"linear": trained, "forest": forest, "pipeline": pipeline}[model_name]
    seen = {name: answers(model, machine, tmp_path / name) for name, machine in MACHINES.items()}
    first = next(iter(seen.values()))
    assert len({probabilities[1] for _, probabilities in first}) > 5  # the rows really differ
    for name, alone in seen.items():
        assert alone == first, name
