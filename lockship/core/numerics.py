"""Pinned numerics: what makes float64 results differ between machines, fixed before numpy loads.

The same arithmetic gives other bits on another machine wherever a library picks its code path for
the CPU: OpenBLAS picks a kernel per CPU family (a SkylakeX dot product sums in another order than a
Haswell one), numpy dispatches its own loops (exp, log) to AVX-512 where the CPU has it, and thread
counts split work differently. So every stage process, and the server, sets these from params.yaml's
`lockship.numerics` (defaults below) before anything imports numpy; the libraries read them when
they load. Afterwards `fingerprint` checks that they were honoured and describes what ran, so a
machine that cannot run the pinned code paths stops with one line instead of training other bytes.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from lockship.core.errors import LockshipError
from lockship.core.params import Section
from lockship.core.yamlio import load_yaml

SECTION = ("lockship", "numerics")
# numpy's dispatch targets on x86-64 (numpy 2.x names), lowest first: a ceiling disables those above it.
SIMD_LEVELS = ("X86_V2", "X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR")
# The CPU flags (Linux /proc/cpuinfo names) each pinned code path executes: a CPU without them would
# crash in OpenBLAS or silently take another path in numpy, so they are checked before anything loads.
KERNEL_FLAGS: dict[str, tuple[str, ...]] = {
    "Prescott": ("sse3",),
    "Nehalem": ("sse4_2",),
    "Sandybridge": ("avx",),
    "Haswell": ("avx2", "fma"),
    "SkylakeX": ("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"),
}
SIMD_FLAGS: dict[str, tuple[str, ...]] = {
    "X86_V2": ("sse3", "ssse3", "sse4_1", "sse4_2", "popcnt"),
    "X86_V3": ("avx", "avx2", "fma", "f16c", "bmi1", "bmi2"),
    "X86_V4": ("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"),
}
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "skops")
OVERRIDE = (
    "set params.yaml lockship.numerics to what this machine runs (blas_kernel, simd_ceiling), knowing its "
    "models will not be byte-identical to the committed lock's"
)


@dataclass(frozen=True)
class Numerics:
    """The pins. Haswell and X86_V3 (AVX2 with FMA) run on every x86-64 CPU made since about 2015."""

    blas_kernel: str = "Haswell"
    simd_ceiling: str = "X86_V3"
    threads: int = 1

    def environment(self) -> dict[str, str]:
        above = SIMD_LEVELS[SIMD_LEVELS.index(self.simd_ceiling) + 1 :]
        return {
            "OPENBLAS_CORETYPE": self.blas_kernel,
            "NPY_DISABLE_CPU_FEATURES": " ".join(above),
            **dict.fromkeys(THREAD_VARIABLES, str(self.threads)),
        }

    def cpu_flags(self) -> tuple[str, ...]:
        return tuple(sorted({*KERNEL_FLAGS[self.blas_kernel], *SIMD_FLAGS.get(self.simd_ceiling, ())}))


def read_numerics(params: str | os.PathLike[str]) -> Numerics:
    """`lockship.numerics` of a params file; the defaults where the file or the section is absent."""
    if not Path(params).is_file():
        return Numerics()
    document = load_yaml(params)
    lockship = document.data.get(SECTION[0]) if isinstance(document.data, Mapping) else None
    if not isinstance(lockship, Mapping) or SECTION[1] not in lockship:
        return Numerics()
    section = Section(document, SECTION[:1], lockship).section(SECTION[1])
    defaults = Numerics()
    settings = Numerics(
        blas_kernel=section.get("blas_kernel", str, defaults.blas_kernel, choices=sorted(KERNEL_FLAGS)),
        simd_ceiling=section.get("simd_ceiling", str, defaults.simd_ceiling, choices=SIMD_LEVELS),
        threads=section.get("threads", int, defaults.threads, minimum=1, maximum=256),
    )
    section.check()
    return settings


def cpu_flags() -> frozenset[str] | None:
    """This CPU's feature flags, or None where the platform does not say (not Linux on x86-64)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            # The kernel calls SSE3 "pni" (Prescott New Instructions).
            return frozenset(value.split()) | ({"sse3"} if "pni" in value.split() else set())
    return None


def missing_flags(settings: Numerics) -> list[str] | None:
    """The pinned code paths' CPU flags this machine lacks; None when it is not an x86-64 Linux."""
    flags = cpu_flags()
    return None if flags is None else [flag for flag in settings.cpu_flags() if flag not in flags]


def pin(settings: Numerics) -> None:
    """Set the pins in this process's environment; they take effect only if numpy has not loaded yet.

    A kernel the CPU cannot execute is not forced (OpenBLAS would die on an illegal instruction):
    it is left to choose, and `fingerprint` then refuses with one line.
    """
    environment = settings.environment()
    if missing_flags(settings):
        del environment["OPENBLAS_CORETYPE"]
    os.environ.update(environment)


def pin_from_params(params: str | os.PathLike[str]) -> None:
    """`pin` what the params file says, before a stage's imports; its problems wait for the stage to report them."""
    try:
        settings = read_numerics(params)
    except LockshipError:
        settings = Numerics()
    pin(settings)


def fingerprint(settings: Numerics) -> dict[str, Any]:
    """What computes this process's floats, after checking that the pins hold (one line naming what does not)."""
    import numpy as np  # noqa: F401  (loads OpenBLAS, so that threadpoolctl sees it)
    import threadpoolctl
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    missing = missing_flags(settings)
    if missing is None:
        raise LockshipError(
            f"this machine ({platform.system()} {platform.machine()}) cannot run the pinned numerics "
            f"(BLAS kernel {settings.blas_kernel}, SIMD {settings.simd_ceiling}): they are x86-64 code paths; "
            f"{OVERRIDE}"
        )
    if missing:
        raise LockshipError(
            f"this CPU lacks {', '.join(missing)}, which the pinned numerics need (BLAS kernel "
            f"{settings.blas_kernel}, SIMD {settings.simd_ceiling}); {OVERRIDE}"
        )
    problems = []
    pools = threadpoolctl.threadpool_info()
    blas = [pool for pool in pools if pool["user_api"] == "blas"]
    for pool in blas:
        if (
            str(pool.get("architecture")).lower() != settings.blas_kernel.lower()
            or pool["num_threads"] != settings.threads
        ):
            problems.append(
                f"{pool['prefix']} runs kernel {pool.get('architecture')} on {pool['num_threads']} thread(s)"
            )
    openmp = sorted({pool["num_threads"] for pool in pools if pool["user_api"] == "openmp"})
    if any(threads != settings.threads for threads in openmp):
        problems.append(f"OpenMP runs {openmp} thread(s)")
    dispatched = [target for target in __cpu_dispatch__ if __cpu_features__.get(target)]
    ceiling = SIMD_LEVELS.index(settings.simd_ceiling)
    above = [target for target in dispatched if target in SIMD_LEVELS[ceiling + 1 :]]
    if above or (settings.simd_ceiling in __cpu_dispatch__ and settings.simd_ceiling not in dispatched):
        problems.append(f"numpy dispatches to {', '.join(dispatched) or 'its baseline only'}")
    if problems:
        raise LockshipError(
            f"numerics not pinned as params.yaml lockship.numerics says (BLAS kernel {settings.blas_kernel}, "
            f"{settings.threads} thread(s), SIMD up to {settings.simd_ceiling}): {'; '.join(problems)}; "
            "numpy was loaded before the pins were set: run the stage as `python -m lockship.stages.NAME`"
        )
    return {
        "python": ".".join(platform.python_version_tuple()[:2]),
        "libraries": {name: _version(name) for name in LIBRARIES},
        # Once checked, every BLAS library runs the pinned kernel and threads: one value for all.
        "blas": {
            "kernel": settings.blas_kernel,
            "threads": settings.threads,
            "libraries": {str(pool["prefix"]): str(pool["version"]) for pool in blas},
        },
        "openmp_threads": openmp,
        "numpy_simd": {"ceiling": settings.simd_ceiling, "dispatched": dispatched},
        "cpu_features": list(settings.cpu_flags()),
    }


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
