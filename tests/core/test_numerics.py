"""Pinned numerics: read from params, set before numpy loads, refused in one line where they cannot hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lockship.core import numerics
from lockship.core.errors import LockshipError
from lockship.core.numerics import Numerics, fingerprint, pin, read_numerics
from lockship.stages import train
from tests.conftest import REPO_ROOT

NO_AVX2 = frozenset({"sse2", "sse3", "ssse3", "sse4_1", "sse4_2", "popcnt", "avx"})


def test_the_reference_params_pin_the_defaults() -> None:
    assert read_numerics(REPO_ROOT / "params.yaml") == Numerics()


def test_a_params_file_without_the_section_gets_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("train:\n  seed: 1\n")
    assert read_numerics(tmp_path / "params.yaml") == Numerics()
    assert read_numerics(tmp_path / "missing.yaml") == Numerics()


def test_bad_settings_are_one_line_each(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("lockship:\n  numerics:\n    blas_kernel: Pentium\n    threads: 0\n    simd: X86_V4\n")
    with pytest.raises(LockshipError) as error:
        read_numerics(params)
    assert error.value.problems == (
        f"{params}:3: lockship.numerics.blas_kernel: 'Pentium' is not one of "
        "'Haswell', 'Nehalem', 'Prescott', 'Sandybridge', 'SkylakeX'",
        f"{params}:4: lockship.numerics.threads: must be at least 1, got 0",
        f"{params}:5: lockship.numerics.simd: unknown key",
    )


def test_the_environment_switches_off_every_simd_level_above_the_ceiling() -> None:
    assert Numerics().environment() == {
        "OPENBLAS_CORETYPE": "Haswell",
        "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    assert Numerics(simd_ceiling="AVX512_SPR").environment()["NPY_DISABLE_CPU_FEATURES"] == ""


def test_a_kernel_the_cpu_cannot_run_is_not_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numerics, "cpu_flags", lambda: NO_AVX2)
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    pin(Numerics())
    assert "OPENBLAS_CORETYPE" not in numerics.os.environ
    assert numerics.os.environ["OPENBLAS_NUM_THREADS"] == "1"


def test_a_cpu_without_the_pinned_code_paths_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numerics, "cpu_flags", lambda: NO_AVX2)
    with pytest.raises(LockshipError) as error:
        fingerprint(Numerics())
    (line,) = error.value.problems
    assert line.startswith("this CPU lacks avx2, bmi1, bmi2, f16c, fma, which the pinned numerics need")
    assert "set params.yaml lockship.numerics to what this machine runs" in line


def test_another_architecture_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numerics.platform, "machine", lambda: "aarch64")
    with pytest.raises(LockshipError, match=r"^this machine \(Linux aarch64\) cannot run the pinned numerics"):
        fingerprint(Numerics())


def test_pins_set_after_numpy_loaded_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """This test session pinned the defaults before numpy loaded; other settings cannot hold any more."""
    assert fingerprint(Numerics())["blas"]
    with pytest.raises(LockshipError) as error:
        fingerprint(Numerics(blas_kernel="Sandybridge", threads=2))
    (line,) = error.value.problems
    assert "runs kernel Haswell on 1 thread(s)" in line and "numpy was loaded before the pins were set" in line


def test_the_train_stage_stops_before_fitting_on_such_a_cpu(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(numerics, "cpu_flags", lambda: NO_AVX2)
    (tmp_path / "train.csv").write_text("a,target\n1,0\n2,1\n")
    args = ["--params", str(REPO_ROOT / "params.yaml"), "--train", str(tmp_path / "train.csv")]
    assert train.main([*args, "--model", str(tmp_path / "m.skops"), "--metadata", str(tmp_path / "m.json")]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "m.skops").exists()


def test_a_stage_process_pins_before_numpy_loads(tmp_path: Path) -> None:
    """`python -m lockship.stages.X` reads params.yaml from its directory, whatever the parent set."""
    (tmp_path / "params.yaml").write_text("lockship:\n  numerics:\n    threads: 2\n")
    probe = "import lockship.stages, threadpoolctl, numpy; print(threadpoolctl.threadpool_info()[0]['num_threads'])"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True,
        env={**numerics.os.environ, "OPENBLAS_NUM_THREADS": "4"},
    )  # fmt: skip
    assert result.stdout.strip() == "2"
