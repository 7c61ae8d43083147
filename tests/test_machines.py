"""The same lock gives the same bytes on any machine: the whole pipeline as five simulated machines.

Each machine is a parent environment that, without lockship's pins, makes OpenBLAS and numpy take
other code paths (kernel, SIMD level, thread count); `test_the_simulated_machines_differ_without_pins`
shows that they really do.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lockship.core.numerics import Numerics
from tests.conftest import copy_project, run
from tests.test_pipeline import OUTPUTS

PINNED = set(Numerics().environment())
MACHINES: dict[str, dict[str, str]] = {
    "unset": {},
    "haswell-2-threads": {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"},
    "skylakex-4-threads": {"OPENBLAS_CORETYPE": "SkylakeX", "OPENBLAS_NUM_THREADS": "4", "OMP_NUM_THREADS": "4"},
    "zen-1-thread": {"OPENBLAS_CORETYPE": "Zen", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    "no-avx512-2-threads": {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_NUM_THREADS": "2"},
}
# Smaller ensembles than the reference params: the point is the arithmetic, not the model.
ESTIMATORS = {
    "logistic_regression": {},
    "random_forest": {"n_estimators: 200": "n_estimators: 40"},
    "gradient_boosting": {"n_estimators: 150": "n_estimators: 40"},
}


def machine_env(machine: dict[str, str]) -> dict[str, str]:
    """This process's environment without the pins the test session set, plus the machine's own settings."""
    return {**{name: value for name, value in os.environ.items() if name not in PINNED}, **machine}


def project_for(destination: Path, estimator: str) -> Path:
    project = copy_project(destination)
    params = project / "params.yaml"
    text = params.read_text().replace("estimator: logistic_regression", f"estimator: {estimator}")
    for old, new in ESTIMATORS[estimator].items():
        assert old in text
        text = text.replace(old, new)
    params.write_text(text)
    return project


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_every_machine_makes_the_same_outputs_lock_and_image_tag(estimator: str, tmp_path: Path) -> None:
    projects = {name: project_for(tmp_path / name, estimator) for name in MACHINES}

    def reproduce(name: str) -> None:
        run("dvc", "repro", "--force", cwd=projects[name], env=machine_env(MACHINES[name]))

    first, *others = MACHINES
    reproduce(first)  # builds the image; the others find it by its tag
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(reproduce, others))
    expected = projects[first]
    for name in others:
        for output in (*OUTPUTS, "package/image.json", "dvc.lock"):
            assert (projects[name] / output).read_bytes() == (expected / output).read_bytes(), f"{name}: {output}"
    metadata = json.loads((expected / "models/metadata.json").read_text())
    assert metadata["estimator"] == estimator
    blas = metadata["environment"]["blas"]
    assert (blas["kernel"], blas["threads"]) == ("Haswell", 1)


def test_the_simulated_machines_differ_without_pins(tmp_path: Path) -> None:
    """The same fit under two of the machines' settings, lockship not involved: other bits."""
    script = tmp_path / "fit.py"
    script.write_text(
        "import hashlib\n"
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.preprocessing import StandardScaler\n"
        "x, y = load_breast_cancer(return_X_y=True)\n"
        "model = LogisticRegression(max_iter=1000).fit(StandardScaler().fit_transform(x), y)\n"
        "print(hashlib.sha256(model.coef_.tobytes()).hexdigest())\n"
    )
    digests = {
        name: run(sys.executable, script, cwd=tmp_path, env=machine_env(MACHINES[name])).stdout
        for name in ("zen-1-thread", "skylakex-4-threads")
    }
    if "avx512f" not in Path("/proc/cpuinfo").read_text():
        pytest.skip("this CPU has no AVX-512, so OpenBLAS's SkylakeX kernel cannot be simulated here")
    assert digests["zen-1-thread"] != digests["skylakex-4-threads"]
